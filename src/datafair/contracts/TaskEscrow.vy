# pragma version ~=0.4.3
"""
@title TaskEscrow
@custom:contract-name TaskEscrow
@license Apache-2.0
@notice Holds the bounties of labelling tasks in any ERC-20 token and pays
        contributors through one Merkle payout root per task and epoch.
        A requester funds a task; an operator posts, per epoch, a root over
        leaves `(uint256 index, address account, uint256 amount)` in the
        OpenZeppelin StandardMerkleTree layout together with the platform
        fee, which can never exceed `MAX_FEE_BPS` of what the payout takes
        from the task; anyone can then claim a leaf, once, for its account;
        after the deadline the requester takes back what no payout took.
        No other path moves escrowed tokens.
@dev A claim reads three storage slots of this contract: the epoch's
     root, the bitmap word of its leaf and the task's `holding`, which packs
     the outstanding balance (the top 96 bits) with the token address (the
     low 160 bits), so that the check that claims stay within what the posted
     roots committed and the address of the token to pay cost one cold slot
     instead of two. A task therefore holds at most `2**96 - 1` base units
     (unallocated plus outstanding), checked on every funding. Proofs are verified by an inline loop
     with the same sorted-pair hashing as snekmate's
     `merkle_proof_verification` and OpenZeppelin's `MerkleProof`: that
     module copies the proof into a 255-element memory buffer, which costs
     about 3,300 gas more per claim. Fees accrue per token as a running
     total next to a running total withdrawn, so no posting ever pays for
     a zero-to-nonzero storage write after the first.
"""

from ethereum.ercs import IERC20

from snekmate.auth import ownable

initializes: ownable

exports: (ownable.owner, ownable.transfer_ownership)


# @dev The hard cap of the platform fee, in basis points of the gross
# amount a payout takes from a task (500 = 5 %). No key can raise it.
MAX_FEE_BPS: public(constant(uint256)) = 500

# @dev Basis points in 100 %.
_BPS: constant(uint256) = 10_000

# @dev Largest royalty share a task may promise: what a sale leaves after
# the largest fee.
_MAX_ROYALTY_BPS: constant(uint256) = _BPS - MAX_FEE_BPS

# @dev Largest number of proof elements accepted for one claim
# (2**32 leaves).
_MAX_PROOF: constant(uint256) = 32

# @dev Largest number of claims in one `claim_many` call.
_MAX_CLAIMS: constant(uint256) = 32

# @dev Largest amount a task may hold (unallocated plus outstanding), so
# that the outstanding balance fits the 96 bits above the token address.
_MAX_HELD: constant(uint256) = 2**96 - 1

# @dev Mask of the token address in the low 160 bits of `Task.holding`.
_TOKEN_MASK: constant(uint256) = 2**160 - 1


# @dev One funded task; `holding` packs `outstanding << 160 | token`, the
# two values a claim needs, into one storage slot.
struct Task:
    requester: address
    holding: uint256
    deadline: uint256
    gold_commitment: bytes32
    deposited: uint256
    unallocated: uint256


# @dev The public view of a task returned by `task`.
struct TaskView:
    requester: address
    token: address
    deadline: uint256
    gold_commitment: bytes32
    deposited: uint256
    unallocated: uint256
    outstanding: uint256


# @dev One claim of a `claim_many` call; the account is shared by all.
struct ClaimRequest:
    task_id: bytes32
    epoch: uint256
    index: uint256
    amount: uint256
    proof: DynArray[bytes32, _MAX_PROOF]


# @dev Returns the current fee rate in basis points (at most `MAX_FEE_BPS`).
fee_bps: public(uint256)

# @dev Returns the address that receives withdrawn fees.
fee_recipient: public(address)

# @dev Returns whether an address may post payouts.
is_operator: public(HashMap[address, bool])

# @dev Returns all fees ever accrued, per token.
fees_accrued: public(HashMap[address, uint256])

# @dev Returns all fees ever withdrawn, per token.
fees_withdrawn: public(HashMap[address, uint256])

# @dev Returns the royalty share (bps) a task promised its contributors
# when it was first funded through `fund_with_royalty`; zero otherwise.
royalty_promise_bps: public(HashMap[bytes32, uint256])

# @dev Funded tasks by task id.
_tasks: HashMap[bytes32, Task]

# @dev Posted payout roots by task id and epoch.
_roots: HashMap[bytes32, HashMap[uint256, bytes32]]

# @dev Claim bitmap by task id, epoch and 256-leaf word.
_claimed: HashMap[bytes32, HashMap[uint256, HashMap[uint256, uint256]]]


# @dev Emitted when a task is funded or topped up; `amount` is what arrived.
event TaskFunded:
    task_id: indexed(bytes32)
    requester: indexed(address)
    token: address
    amount: uint256
    deadline: uint256
    gold_commitment: bytes32


# @dev Emitted when a task's first funding records its royalty promise.
event RoyaltyPromised:
    task_id: indexed(bytes32)
    requester: indexed(address)
    royalty_bps: uint256


# @dev Emitted when an operator posts the payout root of an epoch.
event PayoutPosted:
    task_id: indexed(bytes32)
    epoch: indexed(uint256)
    root: bytes32
    total: uint256
    fee: uint256
    bundle_cid: String[128]


# @dev Emitted when a payout leaf is claimed.
event Claimed:
    task_id: indexed(bytes32)
    account: indexed(address)
    epoch: uint256
    index: uint256
    amount: uint256


# @dev Emitted when the requester takes back the unallocated rest.
event Refunded:
    task_id: indexed(bytes32)
    requester: indexed(address)
    amount: uint256


# @dev Emitted when the owner changes the fee rate.
event FeeRateChanged:
    old_bps: uint256
    new_bps: uint256


# @dev Emitted when the owner changes the fee recipient.
event FeeRecipientChanged:
    old_recipient: indexed(address)
    new_recipient: indexed(address)


# @dev Emitted when the owner grants or revokes the operator role.
event OperatorChanged:
    operator: indexed(address)
    status: bool


# @dev Emitted when accrued fees are sent to the fee recipient.
event FeesWithdrawn:
    token: indexed(address)
    recipient: indexed(address)
    amount: uint256


@deploy
@payable
def __init__(fee_bps_: uint256, fee_recipient_: address):
    """
    @dev The deployer becomes the owner and the first operator.
    @param fee_bps_ The initial fee rate in basis points, at most `MAX_FEE_BPS`.
    @param fee_recipient_ The address that receives withdrawn fees.
    """
    assert fee_bps_ <= MAX_FEE_BPS, "TaskEscrow: fee above cap"
    assert fee_recipient_ != empty(address), "TaskEscrow: zero fee recipient"
    ownable.__init__()
    self.fee_bps = fee_bps_
    self.fee_recipient = fee_recipient_
    self.is_operator[msg.sender] = True
    log FeeRateChanged(old_bps=0, new_bps=fee_bps_)
    log FeeRecipientChanged(old_recipient=empty(address), new_recipient=fee_recipient_)
    log OperatorChanged(operator=msg.sender, status=True)


@internal
def _fund(task_id: bytes32, token: address, amount: uint256, deadline: uint256, gold_commitment: bytes32):
    """
    @dev Creates task `task_id` or tops it up. The escrow credits what its
         token balance actually grew by, so fee-on-transfer tokens are
         accounted correctly. A top-up must come from the requester with the
         same token and gold commitment; it may move the deadline later.
    @param task_id The 32-byte task id (keccak of the task spec).
    @param token The ERC-20 token of the bounty.
    @param amount The amount to pull from the caller (needs an allowance).
    @param deadline The time after which the requester may take back the
           unallocated rest.
    @param gold_commitment The 32-byte commitment to the task's gold items.
    """
    assert amount != 0, "TaskEscrow: zero amount"
    assert token != empty(address), "TaskEscrow: zero token"
    assert deadline > block.timestamp, "TaskEscrow: deadline in the past"
    task: Task = self._tasks[task_id]
    if task.requester == empty(address):
        task.requester = msg.sender
        task.holding = convert(token, uint256)
        task.gold_commitment = gold_commitment
    else:
        assert task.requester == msg.sender, "TaskEscrow: not the requester"
        assert convert(task.holding & _TOKEN_MASK, address) == token, "TaskEscrow: token mismatch"
        assert task.gold_commitment == gold_commitment, "TaskEscrow: gold commitment mismatch"
        assert deadline >= task.deadline, "TaskEscrow: deadline moved earlier"
    task.deadline = deadline

    before: uint256 = staticcall IERC20(token).balanceOf(self)
    assert extcall IERC20(token).transferFrom(
        msg.sender, self, amount, default_return_value=True
    ), "TaskEscrow: token transfer failed"
    received: uint256 = staticcall IERC20(token).balanceOf(self) - before
    assert received != 0, "TaskEscrow: nothing received"

    task.unallocated += received
    assert task.unallocated + (task.holding >> 160) <= _MAX_HELD, "TaskEscrow: amount too large"
    task.deposited += received
    self._tasks[task_id] = task
    log TaskFunded(
        task_id=task_id,
        requester=msg.sender,
        token=token,
        amount=received,
        deadline=deadline,
        gold_commitment=gold_commitment,
    )


@external
@nonreentrant
def fund(task_id: bytes32, token: address, amount: uint256, deadline: uint256, gold_commitment: bytes32):
    """
    @dev Creates task `task_id` or tops it up (see `_fund`); a task created
         here promises no royalty share, a top-up keeps the one recorded.
    @param task_id The 32-byte task id (keccak of the task spec).
    @param token The ERC-20 token of the bounty.
    @param amount The amount to pull from the caller (needs an allowance).
    @param deadline The time after which the requester may take back the
           unallocated rest.
    @param gold_commitment The 32-byte commitment to the task's gold items.
    """
    self._fund(task_id, token, amount, deadline, gold_commitment)


@external
@nonreentrant
def fund_with_royalty(
    task_id: bytes32,
    token: address,
    amount: uint256,
    deadline: uint256,
    gold_commitment: bytes32,
    royalty_bps: uint256,
):
    """
    @dev Like `fund`, and records at the task's first funding the share of
         every future sale of data built from it that the task promises its
         contributors; DatasetRegistry refuses a release of the task's data
         whose royalty floor is lower. A top-up must repeat the promise.
    @param task_id The 32-byte task id (keccak of the task spec).
    @param token The ERC-20 token of the bounty.
    @param amount The amount to pull from the caller (needs an allowance).
    @param deadline The time after which the requester may take back the
           unallocated rest.
    @param gold_commitment The 32-byte commitment to the task's gold items.
    @param royalty_bps The promised royalty share in basis points, at most
           `10_000 - MAX_FEE_BPS`.
    """
    assert royalty_bps <= _MAX_ROYALTY_BPS, "TaskEscrow: royalty promise above 95%"
    if self._tasks[task_id].requester == empty(address):
        self.royalty_promise_bps[task_id] = royalty_bps
        log RoyaltyPromised(task_id=task_id, requester=msg.sender, royalty_bps=royalty_bps)
    else:
        assert self.royalty_promise_bps[task_id] == royalty_bps, "TaskEscrow: royalty promise mismatch"
    self._fund(task_id, token, amount, deadline, gold_commitment)


@external
def post_payout(
    task_id: bytes32, epoch: uint256, root: bytes32, total: uint256, fee: uint256, bundle_cid: String[128]
):
    """
    @dev Commits `total + fee` of the task's unallocated balance to one
         epoch: `total` becomes claimable through `root`, `fee` accrues to
         the fee recipient. Only operators may post; each epoch once.
    @param task_id The 32-byte task id.
    @param epoch The epoch number, starting at 1.
    @param root The Merkle root over `(index, account, amount)` leaves.
    @param total The sum of the leaf amounts.
    @param fee The platform fee; `fee * 10_000 <= (total + fee) * fee_bps`.
    @param bundle_cid The CIDv1 of the settlement bundle from which anyone
           can recompute `root` (emitted only, not stored).
    """
    assert self.is_operator[msg.sender], "TaskEscrow: caller is not an operator"
    assert epoch != 0, "TaskEscrow: zero epoch"
    assert root != empty(bytes32), "TaskEscrow: zero root"
    assert total != 0, "TaskEscrow: zero total"
    assert fee * _BPS <= (total + fee) * self.fee_bps, "TaskEscrow: fee above rate"
    holding: uint256 = self._tasks[task_id].holding
    assert holding != 0, "TaskEscrow: unknown task"
    assert self._roots[task_id][epoch] == empty(bytes32), "TaskEscrow: epoch already posted"
    unallocated: uint256 = self._tasks[task_id].unallocated
    committed: uint256 = total + fee
    assert committed <= unallocated, "TaskEscrow: payout exceeds unallocated balance"

    self._roots[task_id][epoch] = root
    self._tasks[task_id].unallocated = unsafe_sub(unallocated, committed)
    # outstanding + total <= outstanding + unallocated <= _MAX_HELD (checked
    # by `fund`), so the sum stays within its 96 bits.
    self._tasks[task_id].holding = unsafe_add(holding, total << 160)
    token: address = convert(holding & _TOKEN_MASK, address)
    if fee != 0:
        self.fees_accrued[token] += fee
    log PayoutPosted(task_id=task_id, epoch=epoch, root=root, total=total, fee=fee, bundle_cid=bundle_cid)


@internal
def _take(task_id: bytes32, epoch: uint256, index: uint256, account: address, amount: uint256, proof: DynArray[bytes32, _MAX_PROOF]) -> address:
    """
    @dev Verifies one leaf, marks it claimed and reduces the task's
         outstanding balance (effects only); returns the task's token.
    """
    root: bytes32 = self._roots[task_id][epoch]
    assert root != empty(bytes32), "TaskEscrow: unknown payout"
    word: uint256 = index >> 8
    bit: uint256 = 1 << (index & 255)
    bits: uint256 = self._claimed[task_id][epoch][word]
    assert bits & bit == 0, "TaskEscrow: already claimed"
    leaf: bytes32 = keccak256(keccak256(abi_encode(index, account, amount)))
    node: bytes32 = leaf
    for sibling: bytes32 in proof:
        if convert(node, uint256) < convert(sibling, uint256):
            node = keccak256(abi_encode(node, sibling))
        else:
            node = keccak256(abi_encode(sibling, node))
    assert node == root, "TaskEscrow: invalid proof"
    holding: uint256 = self._tasks[task_id].holding
    assert amount <= holding >> 160, "TaskEscrow: claim exceeds payout"

    self._claimed[task_id][epoch][word] = bits | bit
    # amount <= outstanding: the subtraction stays within the top 96 bits.
    self._tasks[task_id].holding = unsafe_sub(holding, amount << 160)
    log Claimed(task_id=task_id, account=account, epoch=epoch, index=index, amount=amount)
    return convert(holding & _TOKEN_MASK, address)


@internal
def _send(token: address, to: address, amount: uint256):
    """
    @dev Transfers `amount` of `token` to `to`, accepting tokens that
         return nothing.
    """
    assert extcall IERC20(token).transfer(to, amount, default_return_value=True), "TaskEscrow: token transfer failed"


@external
@nonreentrant
def claim(task_id: bytes32, epoch: uint256, index: uint256, account: address, amount: uint256, proof: DynArray[bytes32, _MAX_PROOF]):
    """
    @dev Pays the leaf `(index, account, amount)` of a posted payout to
         `account`. Anyone may submit it; each index pays once.
    @param task_id The 32-byte task id.
    @param epoch The epoch of the payout.
    @param index The leaf index (its bit in the claim bitmap).
    @param account The account the leaf pays.
    @param amount The amount the leaf pays.
    @param proof The sibling hashes from the leaf to the root.
    """
    assert amount != 0, "TaskEscrow: zero amount"
    token: address = self._take(task_id, epoch, index, account, amount, proof)
    self._send(token, account, amount)


@external
@nonreentrant
def claim_many(account: address, claims: DynArray[ClaimRequest, _MAX_CLAIMS]):
    """
    @dev Pays several leaves of one account, across tasks and epochs, in one
         transaction; consecutive claims in the same token are paid with
         one transfer.
    @param account The account all leaves pay.
    @param claims The claims, each `(task_id, epoch, index, amount, proof)`.
    """
    assert len(claims) != 0, "TaskEscrow: no claims"
    pending_token: address = empty(address)
    pending: uint256 = 0
    for c: ClaimRequest in claims:
        assert c.amount != 0, "TaskEscrow: zero amount"
        token: address = self._take(c.task_id, c.epoch, c.index, account, c.amount, c.proof)
        if token != pending_token:
            if pending != 0:
                self._send(pending_token, account, pending)
            pending_token = token
            pending = 0
        pending += c.amount
    self._send(pending_token, account, pending)


@external
@nonreentrant
def refund(task_id: bytes32):
    """
    @dev After the deadline, returns the task's unallocated balance to its
         requester. Posted payouts stay claimable.
    @param task_id The 32-byte task id.
    """
    task: Task = self._tasks[task_id]
    assert task.requester != empty(address), "TaskEscrow: unknown task"
    assert msg.sender == task.requester, "TaskEscrow: not the requester"
    assert block.timestamp > task.deadline, "TaskEscrow: deadline not reached"
    amount: uint256 = task.unallocated
    assert amount != 0, "TaskEscrow: nothing to refund"
    self._tasks[task_id].unallocated = 0
    log Refunded(task_id=task_id, requester=task.requester, amount=amount)
    self._send(convert(task.holding & _TOKEN_MASK, address), task.requester, amount)


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
    assert amount != 0, "TaskEscrow: no fees"
    self.fees_withdrawn[token] = accrued
    recipient: address = self.fee_recipient
    log FeesWithdrawn(token=token, recipient=recipient, amount=amount)
    self._send(token, recipient, amount)


@external
def set_fee_bps(new_bps: uint256):
    """
    @dev Sets the fee rate for future payouts; never above `MAX_FEE_BPS`.
    @param new_bps The new rate in basis points.
    """
    assert msg.sender == ownable.owner, "TaskEscrow: caller is not the owner"
    assert new_bps <= MAX_FEE_BPS, "TaskEscrow: fee above cap"
    log FeeRateChanged(old_bps=self.fee_bps, new_bps=new_bps)
    self.fee_bps = new_bps


@external
def set_fee_recipient(new_recipient: address):
    """
    @dev Sets the address that receives withdrawn fees.
    @param new_recipient The new fee recipient.
    """
    assert msg.sender == ownable.owner, "TaskEscrow: caller is not the owner"
    assert new_recipient != empty(address), "TaskEscrow: zero fee recipient"
    log FeeRecipientChanged(old_recipient=self.fee_recipient, new_recipient=new_recipient)
    self.fee_recipient = new_recipient


@external
def set_operator(operator: address, status: bool):
    """
    @dev Grants or revokes the right to post payouts.
    @param operator The address.
    @param status True to grant, false to revoke.
    """
    assert msg.sender == ownable.owner, "TaskEscrow: caller is not the owner"
    assert operator != empty(address), "TaskEscrow: zero operator"
    self.is_operator[operator] = status
    log OperatorChanged(operator=operator, status=status)


@external
@view
def task(task_id: bytes32) -> TaskView:
    """
    @dev Returns a task; an unknown task has a zero requester.
    @param task_id The 32-byte task id.
    @return TaskView The task with its unallocated and outstanding balances.
    """
    t: Task = self._tasks[task_id]
    return TaskView(
        requester=t.requester,
        token=convert(t.holding & _TOKEN_MASK, address),
        deadline=t.deadline,
        gold_commitment=t.gold_commitment,
        deposited=t.deposited,
        unallocated=t.unallocated,
        outstanding=t.holding >> 160,
    )


@external
@view
def fees_owed(token: address) -> uint256:
    """
    @dev Returns the fees accrued in `token` and not yet withdrawn.
    @param token The ERC-20 token.
    @return uint256 The amount `withdraw_fees` would send.
    """
    return self.fees_accrued[token] - self.fees_withdrawn[token]


@external
@view
def payout_root(task_id: bytes32, epoch: uint256) -> bytes32:
    """
    @dev Returns the posted root of an epoch, or zero.
    @param task_id The 32-byte task id.
    @param epoch The epoch.
    @return bytes32 The root.
    """
    return self._roots[task_id][epoch]


@external
@view
def is_claimed(task_id: bytes32, epoch: uint256, index: uint256) -> bool:
    """
    @dev Returns whether leaf `index` of an epoch has been paid.
    @param task_id The 32-byte task id.
    @param epoch The epoch.
    @param index The leaf index.
    @return bool True once claimed.
    """
    return (self._claimed[task_id][epoch][index >> 8] >> (index & 255)) & 1 == 1
