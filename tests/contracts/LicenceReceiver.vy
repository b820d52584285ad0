# pragma version ~=0.4.3
"""
@title LicenceReceiver
@custom:contract-name LicenceReceiver
@license Apache-2.0
@notice A contract that accepts ERC-721 safe transfers, for DatasetMarket's
        tests (never deployed outside tests).
"""

# @dev The id of the last token received.
received: public(uint256)


@external
def onERC721Received(operator: address, owner: address, token_id: uint256, data: Bytes[1_024]) -> bytes4:
    """
    @dev Records the token and accepts it.
    @param operator The caller of the transfer.
    @param owner The previous holder.
    @param token_id The token.
    @param data Extra data.
    @return bytes4 The ERC-721 receiver magic value.
    """
    self.received = token_id
    return method_id("onERC721Received(address,address,uint256,bytes)", output_type=bytes4)
