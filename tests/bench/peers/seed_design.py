"""The seed's storage design, rebuilt as a benchmark baseline.

The FEDzk secrets manager (its SECRETS_README: "AES-128-CBC via Fernet", "PBKDF2
with SHA256, 100,000 iterations") kept its local secrets like this, and this module does
the same, step for step:

- one Fernet key derived ONCE from the master key with PBKDF2-HMAC-SHA256, 100,000
  iterations, salt = first 16 bytes of SHA-256(master key + "fedzk_config_salt");
- one file per secret, ``secrets/<name>.enc``: the value wrapped as ``{"value": ...}``
  (a dict is stored as is) plus a ``_metadata`` entry (created_at, description, tags),
  JSON-encoded, Fernet-encrypted, then base64-encoded once more (the seed's
  ``encrypt_value`` did this), written in place;
- one ``secret_metadata.json`` holding every secret's metadata (name, provider,
  created_at, last_accessed, last_rotated, access_count, rotation_policy, tags,
  description, version), loaded whole when the manager starts and rewritten whole
  (``indent=2``) after every store, delete, metadata change AND every read (the seed
  counted accesses there).

One change makes it comparable with a durable store: :meth:`SeedDesignStore.store_secret`
``fsync``s the secret file and the metadata file before returning (the seed did not
fsync at all, so an acknowledged write could vanish on power loss). Reads rewrite the
metadata without fsync, as the seed did. Audit logging is left out here (and out of the
vaultui side of the same rows): ``bench_audit`` measures it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

PBKDF2_ITERATIONS = 100_000


def derive_fernet_key(master_key: str) -> bytes:
    """The seed's key derivation: PBKDF2-HMAC-SHA256, 100,000 iterations, fixed salt."""
    salt = hashlib.sha256((master_key + "fedzk_config_salt").encode()).digest()[:16]
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=PBKDF2_ITERATIONS)
    return base64.urlsafe_b64encode(kdf.derive(master_key.encode()))


class SeedMetadata:
    """One secret's metadata, with the seed's fields and ISO-8601 timestamps."""

    __slots__ = (
        "access_count",
        "created_at",
        "description",
        "last_accessed",
        "last_rotated",
        "name",
        "provider",
        "rotation_policy",
        "tags",
        "version",
    )

    def __init__(self, name: str, description: str = "", tags: dict | None = None) -> None:
        now = datetime.now()
        self.name = name
        self.provider = "local"
        self.created_at = now
        self.last_accessed = now
        self.last_rotated: datetime | None = None
        self.access_count = 0
        self.rotation_policy = "never"
        self.tags = tags or {}
        self.description = description
        self.version = 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept in secret_metadata.json."""
        return {
            "name": self.name,
            "provider": self.provider,
            "created_at": self.created_at.isoformat(),
            "last_accessed": self.last_accessed.isoformat(),
            "last_rotated": self.last_rotated.isoformat() if self.last_rotated else None,
            "access_count": self.access_count,
            "rotation_policy": self.rotation_policy,
            "tags": self.tags,
            "description": self.description,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedMetadata:
        """Parse one entry of secret_metadata.json (timestamps parsed, as the seed did)."""
        m = cls(data["name"], data.get("description", ""), data.get("tags", {}))
        m.provider = data["provider"]
        m.created_at = datetime.fromisoformat(data["created_at"])
        m.last_accessed = datetime.fromisoformat(data["last_accessed"])
        rotated = data.get("last_rotated")
        m.last_rotated = datetime.fromisoformat(rotated) if rotated else None
        m.access_count = data.get("access_count", 0)
        m.rotation_policy = data.get("rotation_policy", "never")
        m.version = data.get("version", 1)
        return m


class SeedDesignStore:
    """A folder of Fernet files plus one JSON metadata file (the seed's local storage).

    ``SeedDesignStore(folder, master_key)`` derives the key (PBKDF2) and loads the
    metadata; pass ``fernet_key`` (from :func:`derive_fernet_key`) to skip the KDF.
    """

    def __init__(self, folder: Path, master_key: str = "", *, fernet_key: bytes | None = None):
        self.folder = Path(folder)
        self.secrets_dir = self.folder / "secrets"
        self.metadata_file = self.folder / "secret_metadata.json"
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        self.fernet = Fernet(fernet_key or derive_fernet_key(master_key))
        self.metadata: dict[str, SeedMetadata] = {}
        self._load_metadata()

    def _load_metadata(self) -> None:
        if not self.metadata_file.exists():
            self.metadata = {}
            return
        with open(self.metadata_file) as f:
            data = json.load(f)
        self.metadata = {name: SeedMetadata.from_dict(d) for name, d in data.items()}

    def _save_metadata(self, *, durable: bool) -> None:
        data = {name: m.to_dict() for name, m in self.metadata.items()}
        with open(self.metadata_file, "w") as f:
            json.dump(data, f, indent=2)
            if durable:
                f.flush()
                os.fsync(f.fileno())

    def _encrypt(self, text: str) -> str:
        return base64.urlsafe_b64encode(self.fernet.encrypt(text.encode())).decode()

    def _decrypt(self, token: str) -> str:
        return self.fernet.decrypt(base64.urlsafe_b64decode(token.encode())).decode()

    def _secret_blob(self, value: str | dict, description: str, tags: dict | None) -> str:
        data = {"value": value} if isinstance(value, str) else dict(value)
        data["_metadata"] = {
            "created_at": datetime.now().isoformat(),
            "description": description,
            "tags": tags or {},
        }
        return self._encrypt(json.dumps(data))

    def store_secret(
        self, name: str, value: str | dict, description: str = "", tags: dict | None = None
    ) -> bool:
        """Write the secret's file and rewrite the whole metadata file, both fsynced."""
        blob = self._secret_blob(value, description, tags)
        with open(self.secrets_dir / f"{name}.enc", "w") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        self.metadata[name] = SeedMetadata(name, description, tags)
        self._save_metadata(durable=True)
        return True

    def retrieve_secret(self, name: str) -> str | dict | None:
        """Decrypt the secret's file; count the access and rewrite the metadata (no fsync)."""
        path = self.secrets_dir / f"{name}.enc"
        if not path.exists():
            return None
        with open(path) as f:
            data = json.loads(self._decrypt(f.read()))
        meta = self.metadata.get(name)
        if meta is not None:
            meta.last_accessed = datetime.now()
            meta.access_count += 1
            self._save_metadata(durable=False)
        if isinstance(data, dict) and "value" in data:
            return data["value"]
        return data

    def delete_secret(self, name: str) -> bool:
        """Remove the secret's file and its metadata entry (metadata rewritten, fsynced)."""
        path = self.secrets_dir / f"{name}.enc"
        if not path.exists():
            return False
        path.unlink()
        self.metadata.pop(name, None)
        self._save_metadata(durable=True)
        return True

    def list_secrets(self) -> dict[str, SeedMetadata]:
        """Every secret's metadata (already in memory since the store was opened)."""
        return self.metadata.copy()

    def names(self) -> list[str]:
        """Every secret's name, sorted."""
        return sorted(self.metadata)

    def bulk_load(self, items: Iterable[tuple[str, str, str, dict]]) -> int:
        """Fixture builder: write many (name, value, description, tags) secrets at once.

        Leaves exactly the files that one ``store_secret`` per item would leave, but saves
        the metadata once at the end and does not fsync (building a 100,000-secret
        fixture one durable store at a time would take hours). Returns the count.
        """
        count = 0
        for name, value, description, tags in items:
            blob = self._secret_blob(value, description, tags)
            (self.secrets_dir / f"{name}.enc").write_text(blob)
            self.metadata[name] = SeedMetadata(name, description, tags)
            count += 1
        self._save_metadata(durable=True)
        return count

    def disk_usage(self) -> tuple[int, int]:
        """(bytes of content, bytes allocated on disk) of the metadata file and all secrets."""
        apparent = allocated = 0
        for path in [self.metadata_file, *self.secrets_dir.iterdir()]:
            st = path.stat()
            apparent += st.st_size
            allocated += st.st_blocks * 512
        return apparent, allocated
