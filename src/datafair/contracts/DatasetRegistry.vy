# pragma version ~=0.4.3
"""
@title DatasetRegistry
@custom:contract-name DatasetRegistry
@license Apache-2.0
@notice ERC-721 ownership tokens for dataset releases (snekmate's `erc721`
        module). `register` mints one token per frozen release to the
        caller, recording the release's manifest (a CIDv1), its version, the
        Merkle root and total of its contributors' royalty weights and the
        royalty floor promised to them; the token is transferable like any
        ERC-721 and carries the release's revenue rights in DatasetMarket.

        Exposed functions (besides the snekmate ERC-721 exports
        `supportsInterface`, `balanceOf`, `ownerOf`, `approve`, `getApproved`,
        `setApprovalForAll`, `isApprovedForAll`, `transferFrom`,
        `safeTransferFrom`, `tokenURI`, `totalSupply`, `tokenByIndex`,
        `tokenOfOwnerByIndex`, `name`, `symbol`):
        - `register(dataset_id, manifest_cid, version, weights_root,
          total_weight, royalty_floor_bps, task_ids)`: mint a release token;
        - `commit_weights(dataset_id, weights_root, total_weight)`: the token
          owner commits the weights of a release registered without them, once;
        - `dataset(dataset_id)`, `royalty_terms(dataset_id)`, `next_id()`,
          `token_of_manifest(key)`, `escrow()`: views.
@dev The royalty floor honours the escrow: every task a release names must
     have promised at most `royalty_floor_bps` when it was funded
     (`TaskEscrow.royalty_promise_bps`). The leaves of the weights tree bind
     the chain id, the DatasetMarket address, the dataset id and the
     version, so `register` takes the id the tree was built for and refuses
     any other (`next_id()` tells which one is next).
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


# @dev The escrow's view of a task's royalty promise.
interface ITaskEscrow:
    def royalty_promise_bps(task_id: bytes32) -> uint256: view


# @dev Basis points in 100 %.
_BPS: constant(uint256) = 10_000

# @dev The fee cap of TaskEscrow and DatasetMarket (`MAX_FEE_BPS`).
_MAX_FEE_BPS: constant(uint256) = 500

# @dev Largest royalty floor: what a sale leaves after the largest fee.
_MAX_ROYALTY_BPS: constant(uint256) = _BPS - _MAX_FEE_BPS

# @dev Largest number of tasks one release names.
_MAX_TASKS: constant(uint256) = 64

# @dev Weights stay below 2**128 so DatasetMarket can pack the total with
# its rounding remainder in one storage slot.
_MAX_TOTAL_WEIGHT: constant(uint256) = 2**128 - 1

# @dev Versions stay below 2**64 (DatasetMarket packs them too).
_MAX_VERSION: constant(uint256) = 2**64 - 1


# @dev One registered release.
struct Dataset:
    manifest_cid: String[128]
    version: uint256
    weights_root: bytes32
    total_weight: uint256
    royalty_floor_bps: uint256
    registered_at: uint256


# @dev Returns the TaskEscrow whose royalty promises bind releases.
escrow: public(immutable(address))

# @dev Releases by token id.
_datasets: HashMap[uint256, Dataset]

# @dev Returns the token id of a manifest by keccak256 of its CID (each
# manifest registers once).
token_of_manifest: public(HashMap[bytes32, uint256])

# @dev The id of the next token; ids start at 1.
_next_id: uint256


# @dev Emitted when a release is registered; `task_ids` are the tasks whose
# data it contains (their promises were checked against the floor).
event DatasetRegistered:
    token_id: indexed(uint256)
    owner: indexed(address)
    manifest_cid: String[128]
    version: uint256
    weights_root: bytes32
    total_weight: uint256
    royalty_floor_bps: uint256
    task_ids: DynArray[bytes32, _MAX_TASKS]


# @dev Emitted when the weights of a release are committed after its
# registration.
event WeightsCommitted:
    token_id: indexed(uint256)
    weights_root: bytes32
    total_weight: uint256


@deploy
@payable
def __init__(escrow_: address):
    """
    @dev Sets the collection name and symbol and the escrow whose royalty
         promises releases must honour; tokens are minted only by `register`.
    @param escrow_ The TaskEscrow address.
    """
    assert escrow_ != empty(address), "DatasetRegistry: zero escrow"
    ownable.__init__()
    erc721.__init__("datafair datasets", "DFSET", "ipfs://", "datafair datasets", "1")
    escrow = escrow_
    self._next_id = 1


@internal
def _check_weights(weights_root: bytes32, total_weight: uint256):
    """
    @dev A root and a total are set together; the total fits 128 bits.
    """
    assert (weights_root == empty(bytes32)) == (total_weight == 0), "DatasetRegistry: weights root and total must be set together"
    assert total_weight <= _MAX_TOTAL_WEIGHT, "DatasetRegistry: total weight too large"


@external
def register(
    dataset_id: uint256,
    manifest_cid: String[128],
    version: uint256,
    weights_root: bytes32,
    total_weight: uint256,
    royalty_floor_bps: uint256,
    task_ids: DynArray[bytes32, _MAX_TASKS],
) -> uint256:
    """
    @dev Mints release token `dataset_id` to the caller. The weights may
         be left out (zero root and total) and committed later, once.
    @param dataset_id The id the weights tree's leaves were built for; must
           be `next_id()`.
    @param manifest_cid The CIDv1 of the release manifest.
    @param version The release's version, from 1.
    @param weights_root The Merkle root over the contributors' leaves
           `(chain id, market, dataset id, version, account, weight)`.
    @param total_weight The sum of the leaves' weights.
    @param royalty_floor_bps The smallest royalty share, in basis points,
           any listing of this release may give the contributors; at least
           every named task's promise and at most 9,500.
    @param task_ids The tasks whose data the release contains.
    @return uint256 The new token id.
    """
    assert dataset_id == self._next_id, "DatasetRegistry: dataset id is not the next id"
    assert len(manifest_cid) != 0, "DatasetRegistry: empty manifest"
    assert version != 0, "DatasetRegistry: zero version"
    assert version <= _MAX_VERSION, "DatasetRegistry: version too large"
    self._check_weights(weights_root, total_weight)
    assert royalty_floor_bps <= _MAX_ROYALTY_BPS, "DatasetRegistry: royalty floor above 95%"
    for task_id: bytes32 in task_ids:
        promised: uint256 = staticcall ITaskEscrow(escrow).royalty_promise_bps(task_id)
        assert royalty_floor_bps >= promised, "DatasetRegistry: royalty floor below a task's promise"
    key: bytes32 = keccak256(manifest_cid)
    assert self.token_of_manifest[key] == 0, "DatasetRegistry: manifest already registered"

    self._next_id = dataset_id + 1
    self.token_of_manifest[key] = dataset_id
    self._datasets[dataset_id] = Dataset(
        manifest_cid=manifest_cid,
        version=version,
        weights_root=weights_root,
        total_weight=total_weight,
        royalty_floor_bps=royalty_floor_bps,
        registered_at=block.timestamp,
    )
    erc721._mint(msg.sender, dataset_id)
    erc721._set_token_uri(dataset_id, manifest_cid)
    log DatasetRegistered(
        token_id=dataset_id,
        owner=msg.sender,
        manifest_cid=manifest_cid,
        version=version,
        weights_root=weights_root,
        total_weight=total_weight,
        royalty_floor_bps=royalty_floor_bps,
        task_ids=task_ids,
    )
    return dataset_id


@external
def commit_weights(dataset_id: uint256, weights_root: bytes32, total_weight: uint256):
    """
    @dev Commits the weights of a release registered without them; only
         the token's owner, only once. Royalties the market held for the
         release meanwhile become claimable through them.
    @param dataset_id The token id.
    @param weights_root The Merkle root of the contributors' leaves.
    @param total_weight The sum of the leaves' weights (non-zero).
    """
    assert erc721._owner_of(dataset_id) == msg.sender, "DatasetRegistry: caller is not the dataset owner"
    assert self._datasets[dataset_id].weights_root == empty(bytes32), "DatasetRegistry: weights already committed"
    assert weights_root != empty(bytes32), "DatasetRegistry: zero weights root"
    self._check_weights(weights_root, total_weight)
    self._datasets[dataset_id].weights_root = weights_root
    self._datasets[dataset_id].total_weight = total_weight
    log WeightsCommitted(token_id=dataset_id, weights_root=weights_root, total_weight=total_weight)


@external
@view
def dataset(dataset_id: uint256) -> Dataset:
    """
    @dev Returns a registered release.
    @param dataset_id The token id.
    @return Dataset The manifest CID, version, weights root and total,
            royalty floor and registration time.
    """
    assert self._datasets[dataset_id].registered_at != 0, "DatasetRegistry: unknown dataset"
    return self._datasets[dataset_id]


@external
@view
def royalty_terms(dataset_id: uint256) -> (bytes32, uint256, uint256, uint256):
    """
    @dev Returns what DatasetMarket needs of a release.
    @param dataset_id The token id.
    @return bytes32 The weights root (zero until committed).
    @return uint256 The total weight (zero until committed).
    @return uint256 The version.
    @return uint256 The royalty floor in basis points.
    """
    assert self._datasets[dataset_id].registered_at != 0, "DatasetRegistry: unknown dataset"
    return (
        self._datasets[dataset_id].weights_root,
        self._datasets[dataset_id].total_weight,
        self._datasets[dataset_id].version,
        self._datasets[dataset_id].royalty_floor_bps,
    )


@external
@view
def next_id() -> uint256:
    """
    @dev Returns the id the next registered release will get.
    @return uint256 The next token id.
    """
    return self._next_id
