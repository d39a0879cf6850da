"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) with TOKEN_ENCRYPTION_KEY from the environment."""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


class TokenKeyMismatch(RuntimeError):
    """The stored token was encrypted with another key (TOKEN_ENCRYPTION_KEY changed)."""


def _fernet() -> Fernet:
    return Fernet(current_app.config["TOKEN_ENCRYPTION_KEY"].encode())


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenKeyMismatch("stored QuickBooks token cannot be decrypted with TOKEN_ENCRYPTION_KEY") from None
