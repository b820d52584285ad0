# pragma version ~=0.4.3
"""
@title MockToken
@custom:contract-name MockToken
@license Apache-2.0
@notice A misbehaving ERC-20 for TaskEscrow's negative tests (never deployed
        outside tests). `mode` selects the behaviour of `transfer` and
        `transferFrom`: 0 plain, 1 fee-on-transfer (1 % burned), 2 returns
        false without moving anything, 3 moves the tokens and then re-enters
        `hook_target` with `hook_data`, recording whether that call succeeded,
        4 returns true without moving anything.
"""

# @dev Balances by account.
balanceOf: public(HashMap[address, uint256])

# @dev Allowances by owner and spender.
allowance: public(HashMap[address, HashMap[address, uint256]])

# @dev Total supply.
totalSupply: public(uint256)

# @dev Behaviour selector (see the contract notice).
mode: public(uint256)

# @dev Contract called back in mode 3.
hook_target: public(address)

# @dev Calldata of the call back in mode 3.
hook_data: public(Bytes[2048])

# @dev Number of call backs attempted and how many succeeded.
hook_calls: public(uint256)
hook_successes: public(uint256)


# @dev ERC-20 Transfer event.
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


# @dev ERC-20 Approval event.
event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


@deploy
def __init__(mode_: uint256):
    """
    @dev Sets the behaviour.
    @param mode_ The behaviour selector.
    """
    self.mode = mode_


@external
def set_mode(mode_: uint256):
    """
    @dev Changes the behaviour.
    @param mode_ The behaviour selector.
    """
    self.mode = mode_


@external
def set_hook(target: address, data: Bytes[2048]):
    """
    @dev Sets the call back of mode 3.
    @param target The contract to call.
    @param data The calldata.
    """
    self.hook_target = target
    self.hook_data = data


@external
def mint(to: address, amount: uint256):
    """
    @dev Mints `amount` to `to` (anyone may mint: a test token).
    @param to The receiver.
    @param amount The amount.
    """
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @dev Sets an allowance.
    @param spender The spender.
    @param amount The allowance.
    @return bool Always true.
    """
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@internal
def _move(sender: address, to: address, amount: uint256) -> bool:
    if self.mode == 2:
        return False
    if self.mode == 4:
        return True
    self.balanceOf[sender] -= amount
    received: uint256 = amount
    if self.mode == 1:
        received = amount - amount // 100
        self.totalSupply -= amount // 100
    self.balanceOf[to] += received
    log Transfer(sender=sender, receiver=to, value=received)
    if self.mode == 3 and self.hook_target != empty(address):
        self.hook_calls += 1
        ok: bool = raw_call(self.hook_target, self.hook_data, revert_on_failure=False)
        if ok:
            self.hook_successes += 1
    return True


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @dev Moves `amount` from the caller to `to` (see `mode`).
    @param to The receiver.
    @param amount The amount.
    @return bool False in mode 2.
    """
    return self._move(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @dev Moves `amount` from `owner` to `to` using the caller's allowance.
    @param owner The payer.
    @param to The receiver.
    @param amount The amount.
    @return bool False in mode 2.
    """
    self.allowance[owner][msg.sender] -= amount
    return self._move(owner, to, amount)
