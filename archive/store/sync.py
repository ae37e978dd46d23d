"""Upload whatever a crash or an S3 outage left in the spool (``newsarchive sync``).

The spool's sidecars are the to-do list, so this needs nothing from the run that spooled
the files.  Uploads go through the same verified, never-overwriting path as a crawl, and an
object that an interrupted attempt already completed counts as arrived: running ``sync``
twice, or while a crawl uploads the same files, still lands each object exactly once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from archive.store.s3.store import S3Store


@dataclass
class SyncResult:
    store: str
    spool: str = ""
    uploaded: list[str] = field(default_factory=list)         # newly uploaded and verified
    already_present: list[str] = field(default_factory=list)  # our object was already there
    failed: dict[str, str] = field(default_factory=dict)      # key -> why it is still pending
    pending: int = 0                                          # files left in the spool

    @property
    def ok(self) -> bool:
        return not self.failed and self.pending == 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def sync_pending(store, timeout: float | None = None) -> SyncResult:
    """Upload every pending spool file of ``store``; raise StoreError when S3 is unusable.

    Unlike a crawl, sync only talks to S3, so an unreachable endpoint, a missing bucket or
    rejected credentials are raised (StoreUnreachable, BucketMissing, ...) before anything is
    attempted.  Local stores have no spool: the result is empty.
    """
    if not isinstance(store, S3Store):
        return SyncResult(store=store.uri)
    result = SyncResult(store=store.uri, spool=str(store.spool_dir))
    store.check_bucket()
    keys = store.spooled_keys()
    store.resume_pending()
    store.close(timeout)
    for key in sorted(keys):
        outcome = store.uploaded.get(key)
        if outcome is not None:
            (result.already_present if outcome.already_present else result.uploaded).append(key)
        elif key in store.failures:
            result.failed[key] = store.failures[key]
    result.pending = len(store.pending())
    return result
