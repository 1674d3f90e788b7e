"""The vault file: format, crypto, key slots, records and history.

See ``store.py`` for the file layout and docs/VAULT_API.md for the API.
"""

from core.vault.bulk import RecordExport, RecordMeta
from core.vault.codec import MAX_VALUE_BYTES, SecretValue, decode_value, encode_value
from core.vault.keys import Argon2Params, KeySource, write_new_key_file
from core.vault.names import MAX_NAME_LENGTH, NAME_ALPHABET, validate_name
from core.vault.records import Secret, SecretRecord, VersionInfo
from core.vault.store import Vault

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_VALUE_BYTES",
    "NAME_ALPHABET",
    "Argon2Params",
    "KeySource",
    "RecordExport",
    "RecordMeta",
    "Secret",
    "SecretRecord",
    "SecretValue",
    "Vault",
    "VersionInfo",
    "decode_value",
    "encode_value",
    "validate_name",
    "write_new_key_file",
]
