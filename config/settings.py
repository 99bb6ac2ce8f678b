"""Process settings from the environment (prefix ``DUBAN_``).

Where data lives is explicit: nothing is written to the working directory by surprise.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from duban.config.ports import default_port


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "duban"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUBAN_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    # A folder of TOML files that override or extend the packaged policy and calendar,
    # so an office can add next year's holiday schedule the day it is published.
    config_dir: Path | None = None
    timezone: str = "Asia/Shanghai"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default_factory=lambda: default_port("smtp"))  # config/ports.toml
    smtp_sender: str = "duban@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    # The SMS gateway (duban/notify/sms.py): the provider's send endpoint and the sign name (短信签名)
    # it approved. Empty url: no SMS goes out, SMS rows wait in the outbox until one is set. The
    # credentials are read at send time from the environment variables named here, never stored.
    sms_url: str = ""
    sms_sign_name: str = "督办系统"
    sms_access_key_env: str = "DUBAN_SMS_ACCESS_KEY_ID"
    sms_secret_env: str = "DUBAN_SMS_ACCESS_KEY_SECRET"
    # Secrets come from the environment only (DUBAN_SECRET_KEY, DUBAN_SMTP_PASSWORD); never from
    # config/ or the repository. Without DUBAN_SECRET_KEY a key is generated once into the data
    # folder (mode 0600), which suits the embedded demo; production sets the variable.
    secret_key: str | None = None
    # Mark the session cookie Secure (and send HSTS) even when the request arrived as plain HTTP:
    # set it behind a TLS-terminating proxy. Requests that arrive over HTTPS get both anyway.
    cookie_secure: bool = False
    # The audit trail's keys live outside the database (duban/services/auditkeys.py):
    # DUBAN_AUDIT_KEY ("id:hex,id:hex", the last one current) wins; else the key file
    # (DUBAN_AUDIT_KEY_FILE, default audit-keys.json in the config folder, made 0600 on first use).
    audit_key: str | None = None
    audit_key_file: Path | None = None
    # Signed checkpoints of every chain head, outside the database (duban/services/checkpoints.py),
    # and the Ed25519 key that signs them (default audit-checkpoint.pem in the config folder).
    audit_dir: Path | None = None
    checkpoint_key_file: Path | None = None
    # Attachments' bytes (duban/services/filestore.py): "local" keeps them in files_dir (default
    # <data_dir>/files), "s3" in an S3-compatible bucket; its credentials come from boto3's usual
    # sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY in the environment, a profile), never here.
    file_store: Literal["local", "s3"] = "local"
    files_dir: Path | None = None
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_region: str = ""
    s3_prefix: str = "attachments/"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'duban.db'}"

    @property
    def override_dir(self) -> Path:
        return self.config_dir or (self.data_dir / "config")

    @property
    def resolved_audit_key_file(self) -> Path:
        return self.audit_key_file or (self.override_dir / "audit-keys.json")

    @property
    def resolved_files_dir(self) -> Path:
        return self.files_dir or (self.data_dir / "files")

    @property
    def resolved_audit_dir(self) -> Path:
        return self.audit_dir or (self.data_dir / "audit")

    @property
    def resolved_checkpoint_key_file(self) -> Path:
        return self.checkpoint_key_file or (self.override_dir / "audit-checkpoint.pem")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
