# pragma version ~=0.4.3
"""
@title NaiveSplit
@custom:contract-name NaiveSplit
@license Apache-2.0
@notice The peer of DatasetMarket's royalty accumulator in benchmarks/gas_market.py:
        a per-recipient split in the manner of 0xSplits' distributions. Each
        call pulls a pool and pays every recipient its weight's share with
        one ERC-20 transfer, so its cost grows with the number of recipients.
        Never deployed outside the benchmark.
"""

from ethereum.ercs import IERC20

# @dev Largest number of recipients of one split.
_MAX_RECIPIENTS: constant(uint256) = 5_000


@external
def split(token: address, pool: uint256, recipients: DynArray[address, _MAX_RECIPIENTS], weights: DynArray[uint256, _MAX_RECIPIENTS]):
    """
    @dev Pulls `pool` of `token` from the caller and pays each recipient
         `pool * weight // total` (the rounding rest stays here).
    @param token The ERC-20 token.
    @param pool The amount to split.
    @param recipients The recipients.
    @param weights Their weights, in the same order.
    """
    assert len(recipients) == len(weights), "NaiveSplit: length mismatch"
    total: uint256 = 0
    for weight: uint256 in weights:
        total += weight
    assert extcall IERC20(token).transferFrom(msg.sender, self, pool, default_return_value=True)
    for i: uint256 in range(len(recipients), bound=_MAX_RECIPIENTS):
        assert extcall IERC20(token).transfer(recipients[i], pool * weights[i] // total, default_return_value=True)
