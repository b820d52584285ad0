# pragma version ~=0.4.3
"""
@title MockRegistry
@custom:contract-name MockRegistry
@license Apache-2.0
@notice A registry that says every dataset id exists and belongs to one
        owner, without weights or floor, for DatasetMarket's tests of ids the
        real registry never reaches (never deployed outside tests).
"""

# @dev The owner of every dataset.
owner: public(address)


@deploy
def __init__(owner_: address):
    """
    @dev Sets the owner of every dataset.
    @param owner_ The owner.
    """
    self.owner = owner_


@external
@view
def ownerOf(token_id: uint256) -> address:
    """
    @dev Every dataset belongs to `owner`.
    @param token_id The dataset id.
    @return address The owner.
    """
    return self.owner


@external
@view
def royalty_terms(token_id: uint256) -> (bytes32, uint256, uint256, uint256):
    """
    @dev No weights, version 1, no floor.
    @param token_id The dataset id.
    @return bytes32 Zero root.
    @return uint256 Zero total.
    @return uint256 Version 1.
    @return uint256 Zero floor.
    """
    return empty(bytes32), 0, 1, 0
