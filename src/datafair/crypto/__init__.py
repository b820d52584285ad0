"""Pure cryptography: content ids, EIP-712 typed signatures, Merkle trees."""
