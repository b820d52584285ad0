# pragma version ~=0.4.3
"""
@title DevToken
@custom:contract-name DevToken
@license Apache-2.0
@notice A plain ERC-20 (snekmate's `erc20` module) for the embedded chain
        and tests only: the deployer may mint, holders may transfer, approve,
        burn and permit. It has no value and is never deployed to a real
        network by `datafair chain deploy --rpc` unless asked for.
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


@deploy
@payable
def __init__(name_: String[25], symbol_: String[5], decimals_: uint8):
    """
    @dev The deployer becomes the owner and the only minter.
    @param name_ The token name.
    @param symbol_ The token symbol.
    @param decimals_ The number of decimals.
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")
