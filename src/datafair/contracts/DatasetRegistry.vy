# pragma version ~=0.4.3
"""
@title DatasetRegistry
@custom:contract-name DatasetRegistry
@license Apache-2.0
@notice ERC-721 ownership tokens for datasets (snekmate's `erc721` module).
        `register` mints a token to the caller for a dataset manifest (a
        CIDv1) and the Merkle root of its contributors' royalty shares; the
        token is transferable like any ERC-721 and carries the dataset's
        revenue rights in the marketplace.
"""

from snekmate.auth import ownable
from snekmate.tokens import erc721

initializes: ownable
initializes: erc721[ownable := ownable]

exports: (
    erc721.supportsInterface,
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.approve,
    erc721.getApproved,
    erc721.setApprovalForAll,
    erc721.isApprovedForAll,
    erc721.transferFrom,
    erc721.safeTransferFrom,
    erc721.tokenURI,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    erc721.name,
    erc721.symbol,
)


# @dev Basis points in 100 %.
_BPS: constant(uint256) = 10_000


# @dev One registered dataset.
struct Dataset:
    manifest_cid: String[128]
    shares_root: bytes32
    royalty_bps: uint256
    registered_at: uint256


# @dev Datasets by token id.
_datasets: HashMap[uint256, Dataset]

# @dev Token id by keccak of the manifest CID (each manifest registers once).
token_of_manifest: public(HashMap[bytes32, uint256])

# @dev The id of the next token; ids start at 1.
_next_id: uint256


# @dev Emitted when a dataset is registered.
event DatasetRegistered:
    token_id: indexed(uint256)
    owner: indexed(address)
    manifest_cid: String[128]
    shares_root: bytes32
    royalty_bps: uint256


@deploy
@payable
def __init__():
    """
    @dev Sets the collection name and symbol; tokens are minted only by
         `register`.
    """
    ownable.__init__()
    erc721.__init__("datafair datasets", "DFSET", "ipfs://", "datafair datasets", "1")
    self._next_id = 1


@external
def register(manifest_cid: String[128], shares_root: bytes32, royalty_bps: uint256) -> uint256:
    """
    @dev Mints a dataset token to the caller.
    @param manifest_cid The CIDv1 of the dataset manifest.
    @param shares_root The Merkle root of the contributors' royalty shares.
    @param royalty_bps The share of each sale paid to the contributors'
           royalty pool, in basis points.
    @return uint256 The new token id.
    """
    assert len(manifest_cid) != 0, "DatasetRegistry: empty manifest"
    assert shares_root != empty(bytes32), "DatasetRegistry: zero shares root"
    assert royalty_bps <= _BPS, "DatasetRegistry: royalty above 100%"
    key: bytes32 = keccak256(manifest_cid)
    assert self.token_of_manifest[key] == 0, "DatasetRegistry: manifest already registered"

    token_id: uint256 = self._next_id
    self._next_id = token_id + 1
    self.token_of_manifest[key] = token_id
    self._datasets[token_id] = Dataset(
        manifest_cid=manifest_cid,
        shares_root=shares_root,
        royalty_bps=royalty_bps,
        registered_at=block.timestamp,
    )
    erc721._mint(msg.sender, token_id)
    erc721._set_token_uri(token_id, manifest_cid)
    log DatasetRegistered(
        token_id=token_id,
        owner=msg.sender,
        manifest_cid=manifest_cid,
        shares_root=shares_root,
        royalty_bps=royalty_bps,
    )
    return token_id


@external
@view
def dataset(token_id: uint256) -> Dataset:
    """
    @dev Returns a registered dataset.
    @param token_id The token id.
    @return Dataset The manifest CID, shares root, royalty rate and time.
    """
    assert self._datasets[token_id].registered_at != 0, "DatasetRegistry: unknown dataset"
    return self._datasets[token_id]
