# pragma version ~=0.4.3
"""
@title DatasetMarket
@custom:contract-name DatasetMarket
@license Apache-2.0
@notice Fixed-price sales of dataset releases (DatasetRegistry tokens) for
        licence NFTs, with royalties to every contributor of a release in
        proportion to their committed weight.

        The owner of a release token lists it: price, ERC-20 token, licence
        terms (a CID), the contributors' royalty share (at least the floor
        the release recorded, itself at least what its tasks promised at
        funding), whether its licences are transferable and whether a zero
        price is meant. `buy` mints one licence (an ERC-721 of this contract)
        per purchase and splits the price in the same transaction: the
        platform fee (at most `MAX_FEE_BPS`, accrued here), the royalty pool
        (kept here, accounted per weight) and the rest to the release
        token's current owner.

        Royalties: per release, a cumulative accumulator `acc` (royalty per
        unit of weight, scaled by 10**18) grows by `(pool * 10**18 + carry)
        // total_weight` on every sale, the remainder `carry` staying for the
        next sale, so a sale costs the same gas whatever the number of
        contributors. A contributor (or anyone for them) claims at any time
        with a Merkle proof of the leaf `(chain id, this contract, dataset
        id, version, account, weight)` and the root it expects, and receives
        `weight * acc // 10**18 - paid[account]`. Nothing expires. While a
        release has no committed weights its royalties are held and enter
        the accumulator when the weights arrive.

        Exposed functions:
        - listing: `list`, `delist`;
        - buying: `buy`, `buy_with_permit`;
        - royalties: `claim`, `claim_many`, `sync_weights`, views
          `claimable`, `royalty_state`, `paid`;
        - fees and administration: `withdraw_fees`, `set_fee_bps`,
          `set_fee_recipient`, `owner`, `transfer_ownership`, `fee_bps`,
          `fee_recipient`, `fees_accrued`, `fees_withdrawn`, `fees_owed`,
          `MAX_FEE_BPS`, `ACC_SCALE`, `registry`;
        - views: `listing`, `licence`, `licence_count`;
        - licence ERC-721: `balanceOf`, `ownerOf`, `getApproved`,
          `isApprovedForAll`, `approve`, `setApprovalForAll`,
          `transferFrom`, `safeTransferFrom`, `supportsInterface`, `name`,
          `symbol`, `tokenURI`.
@dev Licences are a minimal, non-enumerable ERC-721 written here rather
     than snekmate's `erc721`, whose enumeration and URI storage would add
     four zero-to-nonzero storage writes (~80,000 gas) to every sale. One
     slot per licence packs its holder (low 160 bits), its dataset id (bits
     160-254) and a lock bit (255) for non-transferable licences.

     Per release the market keeps five slots: `_listings` (price in the
     low 96 bits, royalty bps, flags), `_holding` (royalties accrued and not
     claimed in the top 96 bits, the royalty token in the low 160, as in
     TaskEscrow), `_acc` (accumulator in the top 192 bits, the release
     version in the low 64), `_weights` (rounding carry in the top 128 bits,
     total weight in the low 128) and `_roots`. A claim reads `_roots`,
     `_acc`, `_holding` and the claimant's `_paid` entry.

     Bounds: a price is below 2**96; the royalties a release holds unclaimed
     stay below 2**96 (`buy` checks); the accumulator stays below 2**192.
     Rounding: `acc * total_weight + carry == pool_in * 10**18` at all times,
     so the contributors' entitlements sum to `pool_in - carry / 10**18`,
     and each account's is floored once (not per claim): at any time the
     royalties not yet claimable by anyone are below
     `total_weight / 10**18 + n_accounts` base units, and they stay in the
     accounting for later sales.
"""

from ethereum.ercs import IERC20

from snekmate.auth import ownable

initializes: ownable

exports: (ownable.owner, ownable.transfer_ownership)


# @dev What the market reads of DatasetRegistry.
interface IDatasetRegistry:
    def ownerOf(token_id: uint256) -> address: view
    def royalty_terms(token_id: uint256) -> (bytes32, uint256, uint256, uint256): view


# @dev The hard cap of the platform fee, in basis points of the price
# (500 = 5 %), the same constant as TaskEscrow's. No key can raise it.
MAX_FEE_BPS: public(constant(uint256)) = 500

# @dev Scale of the royalty accumulator (royalty per unit of weight).
ACC_SCALE: public(constant(uint256)) = 10**18

# @dev Basis points in 100 %.
_BPS: constant(uint256) = 10_000

# @dev Largest royalty share a listing may give: what is left after the
# largest fee.
_MAX_ROYALTY_BPS: constant(uint256) = _BPS - MAX_FEE_BPS

# @dev Largest number of proof elements of a claim (2**32 leaves).
_MAX_PROOF: constant(uint256) = 32

# @dev Largest number of claims in one `claim_many` call.
_MAX_CLAIMS: constant(uint256) = 32

# @dev Largest price, and largest unclaimed royalty balance of a release.
_MAX_AMOUNT: constant(uint256) = 2**96 - 1

# @dev Largest accumulator value (it shares a slot with the version).
_MAX_ACC: constant(uint256) = 2**192 - 1

# @dev Masks of the packed fields.
_MASK_160: constant(uint256) = 2**160 - 1
_MASK_128: constant(uint256) = 2**128 - 1
_MASK_64: constant(uint256) = 2**64 - 1
_MASK_96: constant(uint256) = 2**96 - 1

# @dev Flags of a listing, above its 96-bit price and 16-bit royalty.
_LISTED: constant(uint256) = 1 << 112
_TRANSFERABLE: constant(uint256) = 1 << 113
_ZERO_PRICE_OK: constant(uint256) = 1 << 114

# @dev Lock bit of a non-transferable licence.
_LOCKED: constant(uint256) = 1 << 255

# @dev Largest dataset id a licence can record (bits 160-254).
_MAX_DATASET: constant(uint256) = 2**95 - 1

# @dev Selector of ERC-721's receiver hook, and the answer it must give.
_ON_RECEIVED: constant(bytes4) = method_id("onERC721Received(address,address,uint256,bytes)", output_type=bytes4)

# @dev ERC-165 interface ids: ERC-165, ERC-721, ERC-721 metadata.
_SUPPORTED_INTERFACES: constant(bytes4[3]) = [0x01FFC9A7, 0x80AC58CD, 0x5B5E139F]


# @dev The public view of a listing.
struct ListingView:
    token: address
    price: uint256
    royalty_bps: uint256
    terms_cid: String[128]
    listed: bool
    transferable: bool
    zero_price_ok: bool


# @dev The public view of a release's royalty accounting.
struct RoyaltyView:
    token: address
    weights_root: bytes32
    total_weight: uint256
    version: uint256
    acc: uint256
    carry: uint256
    held: uint256
    outstanding: uint256


# @dev The public view of a licence.
struct LicenceView:
    holder: address
    dataset_id: uint256
    transferable: bool


# @dev One claim of a `claim_many` call; the account is shared by all.
struct RoyaltyClaim:
    dataset_id: uint256
    weight: uint256
    expected_root: bytes32
    proof: DynArray[bytes32, _MAX_PROOF]


# @dev Returns the DatasetRegistry whose tokens are sold.
registry: public(immutable(address))

# @dev Returns the current fee rate in basis points (at most `MAX_FEE_BPS`).
fee_bps: public(uint256)

# @dev Returns the address that receives withdrawn fees.
fee_recipient: public(address)

# @dev Returns all fees ever accrued, per token.
fees_accrued: public(HashMap[address, uint256])

# @dev Returns all fees ever withdrawn, per token.
fees_withdrawn: public(HashMap[address, uint256])

# @dev Returns the number of licences minted; licence ids run from 1.
licence_count: public(uint256)

# @dev Packed listing per dataset: price | royalty_bps << 96 | flags.
_listings: HashMap[uint256, uint256]

# @dev Licence terms CID per dataset.
_terms: HashMap[uint256, String[128]]

# @dev Per dataset: unclaimed royalties << 160 | royalty token.
_holding: HashMap[uint256, uint256]

# @dev Per dataset: accumulator << 64 | version.
_acc: HashMap[uint256, uint256]

# @dev Per dataset: carry << 128 | total weight.
_weights: HashMap[uint256, uint256]

# @dev Per dataset: the weights root claims are proven against.
_roots: HashMap[uint256, bytes32]

# @dev Per dataset: royalties received while no weights were committed.
_held: HashMap[uint256, uint256]

# @dev Returns what an account has been paid of a dataset's royalties.
paid: public(HashMap[uint256, HashMap[address, uint256]])

# @dev Per licence: holder | dataset id << 160 | lock bit.
_licences: HashMap[uint256, uint256]

# @dev Licences held per account.
_licence_balances: HashMap[address, uint256]

# @dev Approved address per licence.
_licence_approvals: HashMap[uint256, address]

# @dev Approved operators per holder.
_operators: HashMap[address, HashMap[address, bool]]


# @dev Emitted when a dataset is listed or its listing changes.
event Listed:
    dataset_id: indexed(uint256)
    seller: indexed(address)
    token: indexed(address)
    price: uint256
    royalty_bps: uint256
    terms_cid: String[128]
    transferable: bool
    zero_price_ok: bool


# @dev Emitted when a listing is withdrawn.
event Delisted:
    dataset_id: indexed(uint256)
    seller: indexed(address)


# @dev Emitted on every sale, with the split of the price and the
# accumulator after the sale.
event LicenceSold:
    dataset_id: indexed(uint256)
    buyer: indexed(address)
    licence_id: indexed(uint256)
    seller: address
    token: address
    price: uint256
    fee: uint256
    royalty: uint256
    acc: uint256


# @dev Emitted when a release's weights are adopted from the registry;
# `released` is what was held until then.
event WeightsAdopted:
    dataset_id: indexed(uint256)
    weights_root: bytes32
    total_weight: uint256
    version: uint256
    released: uint256


# @dev Emitted when an account's royalties are paid; `paid_total` is all it
# has received from the dataset so far.
event RoyaltyClaimed:
    dataset_id: indexed(uint256)
    account: indexed(address)
    amount: uint256
    weight: uint256
    paid_total: uint256


# @dev Emitted when the owner changes the fee rate.
event FeeRateChanged:
    old_bps: uint256
    new_bps: uint256


# @dev Emitted when the owner changes the fee recipient.
event FeeRecipientChanged:
    old_recipient: indexed(address)
    new_recipient: indexed(address)


# @dev Emitted when accrued fees are sent to the fee recipient.
event FeesWithdrawn:
    token: indexed(address)
    recipient: indexed(address)
    amount: uint256


# @dev ERC-721: a licence changed hands (or was minted, from zero).
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    token_id: indexed(uint256)


# @dev ERC-721: a licence's approved address changed.
event Approval:
    owner: indexed(address)
    approved: indexed(address)
    token_id: indexed(uint256)


# @dev ERC-721: an operator was approved or revoked for all licences.
event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool


@deploy
@payable
def __init__(registry_: address, fee_bps_: uint256, fee_recipient_: address):
    """
    @dev The deployer becomes the owner.
    @param registry_ The DatasetRegistry whose tokens are sold.
    @param fee_bps_ The initial fee rate in basis points, at most `MAX_FEE_BPS`.
    @param fee_recipient_ The address that receives withdrawn fees.
    """
    assert registry_ != empty(address), "DatasetMarket: zero registry"
    assert fee_bps_ <= MAX_FEE_BPS, "DatasetMarket: fee above cap"
    assert fee_recipient_ != empty(address), "DatasetMarket: zero fee recipient"
    ownable.__init__()
    registry = registry_
    self.fee_bps = fee_bps_
    self.fee_recipient = fee_recipient_
    log FeeRateChanged(old_bps=0, new_bps=fee_bps_)
    log FeeRecipientChanged(old_recipient=empty(address), new_recipient=fee_recipient_)


# --------------------------------------------------------------------------- royalty accounting


@internal
def _adopt_weights(dataset_id: uint256, root: bytes32, total: uint256, version: uint256):
    """
    @dev Records a release's committed weights and moves what was held into
         the accumulator (effects only).
    """
    self._roots[dataset_id] = root
    held: uint256 = self._held[dataset_id]
    acc: uint256 = 0
    carry: uint256 = 0
    if held != 0:
        scaled: uint256 = held * ACC_SCALE
        acc = scaled // total
        carry = scaled % total
        self._held[dataset_id] = 0
        holding: uint256 = self._holding[dataset_id]
        self._holding[dataset_id] = holding + (held << 160)
    self._acc[dataset_id] = (acc << 64) | version
    self._weights[dataset_id] = (carry << 128) | total
    log WeightsAdopted(dataset_id=dataset_id, weights_root=root, total_weight=total, version=version, released=held)


@internal
def _credit(dataset_id: uint256, holding: uint256, pool: uint256) -> uint256:
    """
    @dev Adds a sale's royalty pool to a release's accounting and returns
         the accumulator after it (effects only).
    """
    weights: uint256 = self._weights[dataset_id]
    total: uint256 = weights & _MASK_128
    if total == 0:
        self._held[dataset_id] += pool
        assert (holding >> 160) + self._held[dataset_id] <= _MAX_AMOUNT, "DatasetMarket: royalty balance too large"
        return 0
    scaled: uint256 = pool * ACC_SCALE + (weights >> 128)
    packed: uint256 = self._acc[dataset_id]
    acc: uint256 = (packed >> 64) + scaled // total
    assert acc <= _MAX_ACC, "DatasetMarket: accumulator overflow"
    outstanding: uint256 = (holding >> 160) + pool
    assert outstanding <= _MAX_AMOUNT, "DatasetMarket: royalty balance too large"
    self._acc[dataset_id] = (acc << 64) | (packed & _MASK_64)
    self._weights[dataset_id] = ((scaled % total) << 128) | total
    self._holding[dataset_id] = (outstanding << 160) | (holding & _MASK_160)
    return acc


@internal
def _take(dataset_id: uint256, account: address, weight: uint256, expected_root: bytes32, proof: DynArray[bytes32, _MAX_PROOF]) -> (address, uint256):
    """
    @dev Verifies a weight leaf and books what it is owed as paid (effects
         only); returns the royalty token and the amount, possibly zero.
    """
    root: bytes32 = self._roots[dataset_id]
    assert root != empty(bytes32), "DatasetMarket: no weights committed"
    assert root == expected_root, "DatasetMarket: weights root differs from the expected root"
    packed: uint256 = self._acc[dataset_id]
    leaf: bytes32 = keccak256(keccak256(abi_encode(chain.id, self, dataset_id, packed & _MASK_64, account, weight)))
    node: bytes32 = leaf
    for sibling: bytes32 in proof:
        if convert(node, uint256) < convert(sibling, uint256):
            node = keccak256(abi_encode(node, sibling))
        else:
            node = keccak256(abi_encode(sibling, node))
    assert node == root, "DatasetMarket: invalid proof"
    entitled: uint256 = weight * (packed >> 64) // ACC_SCALE
    already: uint256 = self.paid[dataset_id][account]
    holding: uint256 = self._holding[dataset_id]
    token: address = convert(holding & _MASK_160, address)
    if entitled <= already:
        return token, 0
    amount: uint256 = unsafe_sub(entitled, already)
    assert amount <= holding >> 160, "DatasetMarket: claim exceeds royalty balance"
    self.paid[dataset_id][account] = entitled
    # amount <= outstanding: the subtraction stays within the top 96 bits.
    self._holding[dataset_id] = unsafe_sub(holding, amount << 160)
    log RoyaltyClaimed(dataset_id=dataset_id, account=account, amount=amount, weight=weight, paid_total=entitled)
    return token, amount


@internal
def _send(token: address, to: address, amount: uint256):
    """
    @dev Transfers `amount` of `token` to `to`, accepting tokens that
         return nothing.
    """
    assert extcall IERC20(token).transfer(to, amount, default_return_value=True), "DatasetMarket: token transfer failed"


@internal
def _pull(token: address, source: address, to: address, amount: uint256):
    """
    @dev Transfers `amount` of `token` from `source` to `to` with this
         contract's allowance, accepting tokens that return nothing.
    """
    assert extcall IERC20(token).transferFrom(source, to, amount, default_return_value=True), "DatasetMarket: token transfer failed"


# --------------------------------------------------------------------------- listing


@external
def list(
    dataset_id: uint256,
    token: address,
    price: uint256,
    royalty_bps: uint256,
    terms_cid: String[128],
    transferable: bool,
    zero_price_ok: bool,
):
    """
    @dev Lists a release, or changes its listing; only the release token's
         owner. The royalty token is fixed by the first listing (the
         release's royalty accounting is in one token). Adopts the release's
         weights if the registry has them and the market does not yet.
    @param dataset_id The release token id.
    @param token The ERC-20 token of the price.
    @param price The price in base units, below 2**96.
    @param royalty_bps The contributors' share of each sale, in basis
           points: at least the release's floor, at most 9,500.
    @param terms_cid The CIDv1 of the licence terms.
    @param transferable Whether the licences sold may be transferred.
    @param zero_price_ok Must be true for a price of zero (free licences).
    """
    assert msg.sender == staticcall IDatasetRegistry(registry).ownerOf(dataset_id), "DatasetMarket: caller is not the dataset owner"
    assert token != empty(address), "DatasetMarket: zero token"
    assert price <= _MAX_AMOUNT, "DatasetMarket: price too large"
    assert price != 0 or zero_price_ok, "DatasetMarket: zero price not allowed"
    assert len(terms_cid) != 0, "DatasetMarket: empty licence terms"
    assert dataset_id <= _MAX_DATASET, "DatasetMarket: dataset id too large"
    assert royalty_bps <= _MAX_ROYALTY_BPS, "DatasetMarket: royalty above 95%"
    root: bytes32 = empty(bytes32)
    total: uint256 = 0
    version: uint256 = 0
    royalty_floor: uint256 = 0
    root, total, version, royalty_floor = staticcall IDatasetRegistry(registry).royalty_terms(dataset_id)
    assert royalty_bps >= royalty_floor, "DatasetMarket: royalty below the promised floor"
    holding: uint256 = self._holding[dataset_id]
    if holding == 0:
        self._holding[dataset_id] = convert(token, uint256)
        self._acc[dataset_id] = version
    else:
        assert convert(holding & _MASK_160, address) == token, "DatasetMarket: token differs from the release's royalty token"
    if self._roots[dataset_id] == empty(bytes32) and root != empty(bytes32):
        self._adopt_weights(dataset_id, root, total, version)

    flags: uint256 = _LISTED
    if transferable:
        flags |= _TRANSFERABLE
    if zero_price_ok:
        flags |= _ZERO_PRICE_OK
    self._listings[dataset_id] = price | (royalty_bps << 96) | flags
    self._terms[dataset_id] = terms_cid
    log Listed(
        dataset_id=dataset_id,
        seller=msg.sender,
        token=token,
        price=price,
        royalty_bps=royalty_bps,
        terms_cid=terms_cid,
        transferable=transferable,
        zero_price_ok=zero_price_ok,
    )


@external
def delist(dataset_id: uint256):
    """
    @dev Withdraws a listing; licences sold stay valid and royalties stay
         claimable. Only the release token's owner.
    @param dataset_id The release token id.
    """
    assert msg.sender == staticcall IDatasetRegistry(registry).ownerOf(dataset_id), "DatasetMarket: caller is not the dataset owner"
    listing: uint256 = self._listings[dataset_id]
    assert listing & _LISTED != 0, "DatasetMarket: not listed"
    self._listings[dataset_id] = listing ^ _LISTED
    log Delisted(dataset_id=dataset_id, seller=msg.sender)


@external
def sync_weights(dataset_id: uint256):
    """
    @dev Adopts weights the release's owner committed in the registry
         after the first listing; what was held for the release becomes
         claimable. Anyone may call it.
    @param dataset_id The release token id.
    """
    assert self._holding[dataset_id] != 0, "DatasetMarket: never listed"
    assert self._roots[dataset_id] == empty(bytes32), "DatasetMarket: weights already adopted"
    root: bytes32 = empty(bytes32)
    total: uint256 = 0
    version: uint256 = 0
    royalty_floor: uint256 = 0
    root, total, version, royalty_floor = staticcall IDatasetRegistry(registry).royalty_terms(dataset_id)
    assert root != empty(bytes32), "DatasetMarket: no weights committed"
    self._adopt_weights(dataset_id, root, total, version)


# --------------------------------------------------------------------------- buying


@internal
def _buy(buyer: address, dataset_id: uint256, max_price: uint256) -> uint256:
    """
    @dev Sells one licence of `dataset_id` to `buyer`: books the fee and
         the royalty pool, mints the licence, then pulls the fee and the
         pool to this contract and the rest to the release's owner.
    """
    listing: uint256 = self._listings[dataset_id]
    assert listing & _LISTED != 0, "DatasetMarket: not listed"
    price: uint256 = listing & _MASK_96
    assert price <= max_price, "DatasetMarket: price above max_price"
    seller: address = staticcall IDatasetRegistry(registry).ownerOf(dataset_id)
    holding: uint256 = self._holding[dataset_id]
    token: address = convert(holding & _MASK_160, address)

    fee: uint256 = price * self.fee_bps // _BPS
    pool: uint256 = price * ((listing >> 96) & 65_535) // _BPS
    acc: uint256 = 0
    if pool != 0:
        acc = self._credit(dataset_id, holding, pool)
    if fee != 0:
        self.fees_accrued[token] += fee

    licence_id: uint256 = self.licence_count + 1
    self.licence_count = licence_id
    packed: uint256 = convert(buyer, uint256) | (dataset_id << 160)
    if listing & _TRANSFERABLE == 0:
        packed |= _LOCKED
    self._licences[licence_id] = packed
    self._licence_balances[buyer] += 1
    log Transfer(sender=empty(address), receiver=buyer, token_id=licence_id)
    log LicenceSold(
        dataset_id=dataset_id,
        buyer=buyer,
        licence_id=licence_id,
        seller=seller,
        token=token,
        price=price,
        fee=fee,
        royalty=pool,
        acc=acc,
    )

    kept: uint256 = fee + pool
    if kept != 0:
        before: uint256 = staticcall IERC20(token).balanceOf(self)
        self._pull(token, buyer, self, kept)
        assert staticcall IERC20(token).balanceOf(self) == before + kept, "DatasetMarket: token delivered less than sent"
    rest: uint256 = price - kept
    if rest != 0:
        self._pull(token, buyer, seller, rest)
    return licence_id


@external
@nonreentrant
def buy(dataset_id: uint256, max_price: uint256) -> uint256:
    """
    @dev Buys one licence of a listed release at its price (the caller
         must have approved at least the price to this contract).
    @param dataset_id The release token id.
    @param max_price The most the caller agrees to pay; the sale reverts if
           the listing's price is higher.
    @return uint256 The id of the licence minted to the caller.
    """
    return self._buy(msg.sender, dataset_id, max_price)


@external
@nonreentrant
def buy_with_permit(dataset_id: uint256, max_price: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32) -> uint256:
    """
    @dev Buys one licence in one transaction with an EIP-2612 permit of
         `max_price` signed by the caller for this contract. A permit that
         fails (already used, e.g. by someone who copied it from the
         mempool) is ignored: the allowance then decides.
    @param dataset_id The release token id.
    @param max_price The most the caller agrees to pay, and the permit's value.
    @param deadline The permit's deadline.
    @param v The permit signature's `v`.
    @param r The permit signature's `r`.
    @param s The permit signature's `s`.
    @return uint256 The id of the licence minted to the caller.
    """
    token: address = convert(self._holding[dataset_id] & _MASK_160, address)
    assert token != empty(address), "DatasetMarket: not listed"
    success: bool = raw_call(
        token,
        abi_encode(
            msg.sender,
            self,
            max_price,
            deadline,
            v,
            r,
            s,
            method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"),
        ),
        revert_on_failure=False,
    )
    return self._buy(msg.sender, dataset_id, max_price)


# --------------------------------------------------------------------------- royalties


@external
@nonreentrant
def claim(dataset_id: uint256, account: address, weight: uint256, expected_root: bytes32, proof: DynArray[bytes32, _MAX_PROOF]) -> uint256:
    """
    @dev Pays `account` the royalties its weight earned in a release since
         its last claim. Anyone may submit it.
    @param dataset_id The release token id.
    @param account The contributor.
    @param weight The contributor's weight (its leaf's value).
    @param expected_root The weights root the proof was built for.
    @param proof The sibling hashes from the leaf to the root.
    @return uint256 The amount paid.
    """
    token: address = empty(address)
    amount: uint256 = 0
    token, amount = self._take(dataset_id, account, weight, expected_root, proof)
    assert amount != 0, "DatasetMarket: nothing to claim"
    self._send(token, account, amount)
    return amount


@external
@nonreentrant
def claim_many(account: address, claims: DynArray[RoyaltyClaim, _MAX_CLAIMS]) -> uint256:
    """
    @dev Pays `account` its royalties from several releases in one
         transaction; consecutive releases in the same token are paid with
         one transfer. Releases with nothing owed are skipped (their proofs
         are still checked).
    @param account The contributor.
    @param claims The claims, each `(dataset_id, weight, expected_root, proof)`.
    @return uint256 The total amount paid, over all tokens.
    """
    assert len(claims) != 0, "DatasetMarket: no claims"
    pending_token: address = empty(address)
    pending: uint256 = 0
    paid_total: uint256 = 0
    for c: RoyaltyClaim in claims:
        token: address = empty(address)
        amount: uint256 = 0
        token, amount = self._take(c.dataset_id, account, c.weight, c.expected_root, c.proof)
        if amount == 0:
            continue
        if token != pending_token:
            if pending != 0:
                self._send(pending_token, account, pending)
            pending_token = token
            pending = 0
        pending += amount
        paid_total += amount
    assert paid_total != 0, "DatasetMarket: nothing to claim"
    self._send(pending_token, account, pending)
    return paid_total


# --------------------------------------------------------------------------- fees


@external
@nonreentrant
def withdraw_fees(token: address):
    """
    @dev Sends the fees accrued in `token` to the fee recipient; anyone may
         call it.
    @param token The ERC-20 token whose fees to send.
    """
    accrued: uint256 = self.fees_accrued[token]
    amount: uint256 = accrued - self.fees_withdrawn[token]
    assert amount != 0, "DatasetMarket: no fees"
    self.fees_withdrawn[token] = accrued
    recipient: address = self.fee_recipient
    log FeesWithdrawn(token=token, recipient=recipient, amount=amount)
    self._send(token, recipient, amount)


@external
def set_fee_bps(new_bps: uint256):
    """
    @dev Sets the fee rate for future sales; never above `MAX_FEE_BPS`.
    @param new_bps The new rate in basis points.
    """
    assert msg.sender == ownable.owner, "DatasetMarket: caller is not the owner"
    assert new_bps <= MAX_FEE_BPS, "DatasetMarket: fee above cap"
    log FeeRateChanged(old_bps=self.fee_bps, new_bps=new_bps)
    self.fee_bps = new_bps


@external
def set_fee_recipient(new_recipient: address):
    """
    @dev Sets the address that receives withdrawn fees.
    @param new_recipient The new fee recipient.
    """
    assert msg.sender == ownable.owner, "DatasetMarket: caller is not the owner"
    assert new_recipient != empty(address), "DatasetMarket: zero fee recipient"
    log FeeRecipientChanged(old_recipient=self.fee_recipient, new_recipient=new_recipient)
    self.fee_recipient = new_recipient


@external
@view
def fees_owed(token: address) -> uint256:
    """
    @dev Returns the fees accrued in `token` and not yet withdrawn.
    @param token The ERC-20 token.
    @return uint256 The amount `withdraw_fees` would send.
    """
    return self.fees_accrued[token] - self.fees_withdrawn[token]


# --------------------------------------------------------------------------- views


@external
@view
def listing(dataset_id: uint256) -> ListingView:
    """
    @dev Returns a release's listing; a release never listed has a zero token.
    @param dataset_id The release token id.
    @return ListingView The token, price, royalty share, terms and flags.
    """
    packed: uint256 = self._listings[dataset_id]
    return ListingView(
        token=convert(self._holding[dataset_id] & _MASK_160, address),
        price=packed & _MASK_96,
        royalty_bps=(packed >> 96) & 65_535,
        terms_cid=self._terms[dataset_id],
        listed=packed & _LISTED != 0,
        transferable=packed & _TRANSFERABLE != 0,
        zero_price_ok=packed & _ZERO_PRICE_OK != 0,
    )


@external
@view
def royalty_state(dataset_id: uint256) -> RoyaltyView:
    """
    @dev Returns a release's royalty accounting.
    @param dataset_id The release token id.
    @return RoyaltyView The token, weights root and total, version,
            accumulator, carry, royalties held for lack of weights and
            royalties accrued but not claimed.
    """
    holding: uint256 = self._holding[dataset_id]
    packed: uint256 = self._acc[dataset_id]
    weights: uint256 = self._weights[dataset_id]
    return RoyaltyView(
        token=convert(holding & _MASK_160, address),
        weights_root=self._roots[dataset_id],
        total_weight=weights & _MASK_128,
        version=packed & _MASK_64,
        acc=packed >> 64,
        carry=weights >> 128,
        held=self._held[dataset_id],
        outstanding=holding >> 160,
    )


@external
@view
def claimable(dataset_id: uint256, account: address, weight: uint256) -> uint256:
    """
    @dev Returns what a claim of `account` with `weight` would pay now (the
         proof is not checked here).
    @param dataset_id The release token id.
    @param account The contributor.
    @param weight The contributor's weight.
    @return uint256 The amount.
    """
    entitled: uint256 = weight * (self._acc[dataset_id] >> 64) // ACC_SCALE
    already: uint256 = self.paid[dataset_id][account]
    if entitled <= already:
        return 0
    return entitled - already


@external
@view
def licence(licence_id: uint256) -> LicenceView:
    """
    @dev Returns a licence; an unknown id has a zero holder.
    @param licence_id The licence id.
    @return LicenceView The holder, the dataset and whether it transfers.
    """
    packed: uint256 = self._licences[licence_id]
    return LicenceView(
        holder=convert(packed & _MASK_160, address),
        dataset_id=(packed >> 160) & _MAX_DATASET,
        transferable=packed & _LOCKED == 0,
    )


# --------------------------------------------------------------------------- licence ERC-721


@internal
@view
def _holder(licence_id: uint256) -> address:
    """
    @dev The holder of an existing licence.
    """
    holder: address = convert(self._licences[licence_id] & _MASK_160, address)
    assert holder != empty(address), "DatasetMarket: unknown licence"
    return holder


@internal
def _transfer(owner: address, to: address, licence_id: uint256):
    """
    @dev Moves a licence after checking ownership, lock and authorisation.
    """
    packed: uint256 = self._licences[licence_id]
    holder: address = convert(packed & _MASK_160, address)
    assert holder != empty(address), "DatasetMarket: unknown licence"
    assert holder == owner, "DatasetMarket: transfer from incorrect owner"
    assert to != empty(address), "DatasetMarket: transfer to the zero address"
    assert packed & _LOCKED == 0, "DatasetMarket: licence not transferable"
    assert (
        msg.sender == holder
        or self._licence_approvals[licence_id] == msg.sender
        or self._operators[holder][msg.sender]
    ), "DatasetMarket: caller is not licence owner or approved"
    self._licence_approvals[licence_id] = empty(address)
    self._licence_balances[holder] -= 1
    self._licence_balances[to] += 1
    self._licences[licence_id] = (packed & ~_MASK_160) | convert(to, uint256)
    log Transfer(sender=holder, receiver=to, token_id=licence_id)


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @dev ERC-165: ERC-165, ERC-721 and ERC-721 metadata.
    @param interface_id The interface id.
    @return bool Whether it is supported.
    """
    return interface_id in _SUPPORTED_INTERFACES


@external
@view
def name() -> String[25]:
    """
    @dev ERC-721 metadata: the collection name.
    @return String The name.
    """
    return "datafair licences"


@external
@view
def symbol() -> String[5]:
    """
    @dev ERC-721 metadata: the collection symbol.
    @return String The symbol.
    """
    return "DFLIC"


@external
@view
def tokenURI(licence_id: uint256) -> String[135]:
    """
    @dev ERC-721 metadata: the licence terms of the licence's dataset as
         listed now (the terms in force at a sale are those of the latest
         `Listed` event before its `LicenceSold`).
    @param licence_id The licence id.
    @return String `ipfs://<terms CID>`.
    """
    self._holder(licence_id)
    dataset_id: uint256 = (self._licences[licence_id] >> 160) & _MAX_DATASET
    return concat("ipfs://", self._terms[dataset_id])


@external
@view
def balanceOf(owner: address) -> uint256:
    """
    @dev ERC-721: the number of licences an account holds.
    @param owner The account.
    @return uint256 The count.
    """
    assert owner != empty(address), "DatasetMarket: zero address"
    return self._licence_balances[owner]


@external
@view
def ownerOf(licence_id: uint256) -> address:
    """
    @dev ERC-721: the holder of a licence.
    @param licence_id The licence id.
    @return address The holder.
    """
    return self._holder(licence_id)


@external
@view
def getApproved(licence_id: uint256) -> address:
    """
    @dev ERC-721: the address approved to move a licence.
    @param licence_id The licence id.
    @return address The approved address, or zero.
    """
    self._holder(licence_id)
    return self._licence_approvals[licence_id]


@external
@view
def isApprovedForAll(owner: address, operator: address) -> bool:
    """
    @dev ERC-721: whether `operator` may move all of `owner`'s licences.
    @param owner The holder.
    @param operator The operator.
    @return bool The approval.
    """
    return self._operators[owner][operator]


@external
def approve(approved: address, licence_id: uint256):
    """
    @dev ERC-721: lets `approved` move one licence (zero clears it).
    @param approved The address to approve.
    @param licence_id The licence id.
    """
    holder: address = self._holder(licence_id)
    assert approved != holder, "DatasetMarket: approval to current owner"
    assert msg.sender == holder or self._operators[holder][msg.sender], "DatasetMarket: caller is not licence owner or approved for all"
    self._licence_approvals[licence_id] = approved
    log Approval(owner=holder, approved=approved, token_id=licence_id)


@external
def setApprovalForAll(operator: address, approved: bool):
    """
    @dev ERC-721: lets `operator` move all of the caller's licences.
    @param operator The operator.
    @param approved True to approve, false to revoke.
    """
    assert operator != msg.sender, "DatasetMarket: approve to caller"
    self._operators[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
def transferFrom(owner: address, to: address, licence_id: uint256):
    """
    @dev ERC-721: moves a transferable licence.
    @param owner The current holder.
    @param to The new holder.
    @param licence_id The licence id.
    """
    self._transfer(owner, to, licence_id)


@external
def safeTransferFrom(owner: address, to: address, licence_id: uint256, data: Bytes[1_024] = b""):
    """
    @dev ERC-721: moves a transferable licence, checking that a contract
         recipient accepts ERC-721 tokens.
    @param owner The current holder.
    @param to The new holder.
    @param licence_id The licence id.
    @param data Data passed to the recipient's `onERC721Received`.
    """
    self._transfer(owner, to, licence_id)
    if to.is_contract:
        success: bool = False
        answer: Bytes[32] = b""
        success, answer = raw_call(
            to,
            abi_encode(msg.sender, owner, licence_id, data, method_id=_ON_RECEIVED),
            max_outsize=32,
            revert_on_failure=False,
        )
        assert success and len(answer) == 32 and convert(slice(answer, 0, 4), bytes4) == _ON_RECEIVED, "DatasetMarket: transfer to non-IERC721Receiver implementer"
