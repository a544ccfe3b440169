# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""On-disk per-text feature store used by :class:`~alien_sk.FeatureExtractor`.

Layout (joblib ``Memory`` style, two-level key)::

    cache_dir/
        <namespace>/                 hash of everything that changes a row
            namespace.json           the settings hashed into <namespace>
            shards/<uuid>.npz        immutable: keys, offsets, rows

A *key* is ``sha256(text)`` (hex). The *namespace* hashes the model's weights
fingerprint, the tokenizer's, ``max_length``, ``level``, dtype, layer, padding
side, the schema version and, for decoders at sequence level, the rule that
picks the pooled token, so changing any of them never serves an old row.

Each ``transform`` call of :class:`~alien_sk.FeatureExtractor` writes the
rows it computed in shards of about 1024 rows, so a call writes at least one
shard of its own however few texts it computed: calling ``transform`` on one
new text at a time (serving, active-learning loops) leaves one small file per
text, and a new process then opens every file to build its index, which gets
slow beyond ~10k files. Batch the texts into fewer, larger calls. A shard is
written to a unique temporary file and then ``os.replace``-d into place, so
readers only ever see complete shards, and shards are never modified
afterwards. Several processes can therefore share a cache without locks: each
writes its own shards, and the per-process index (key -> shard, position) is
refreshed incrementally by listing the folder. Two processes computing the
same text at once just store it twice.

The store never raises on I/O: a shard that cannot be read (truncated, bad
CRC, wrong shape or dtype) triggers a :class:`~alien_sk.exceptions.CacheWarning`,
is removed and its texts are recomputed; a failed write warns and leaves the
rows uncached. Arrays are loaded with ``allow_pickle=False``.
"""

import contextlib
import errno
import hashlib
import json
import os
import shutil
import uuid
import warnings
import zipfile
import zlib

import numpy as np

from alien_sk._utils import user_stacklevel
from alien_sk.exceptions import CacheWarning

#: Bump when the on-disk format or the meaning of a row changes.
SCHEMA_VERSION = 1

_SHARDS = "shards"
# what a damaged shard raises when read, as opposed to an OSError of the
# machine (permissions, file handles), which says nothing about the file;
# BadZipFile covers CRC errors, zlib.error damaged compressed data
_CORRUPT = (ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


def _is_corrupt(error):
    """Format errors, and the EINVAL a damaged zip directory can cause."""
    return isinstance(error, _CORRUPT) or (
        isinstance(error, OSError) and error.errno == errno.EINVAL
    )


_NAMESPACE_FILE = "namespace.json"
_TMP_PREFIX = ".tmp-"


def text_key(text):
    """Cache key of one text (or of a word list at token level).

    Parameters
    ----------
    text : str or list of str
        A text, or a pre-split word list (keyed by its JSON encoding, so that
        ``["a b"]`` and ``["a", "b"]`` differ).

    Returns
    -------
    key : bytes
        The 64-character hexadecimal sha256 digest, ASCII-encoded.

    Examples
    --------
    >>> from alien_sk._cache import text_key
    >>> text_key("hello")[:16]
    b'2cf24dba5fb0a30e'
    """
    if isinstance(text, str):
        data = text.encode("utf-8", "surrogatepass")
    else:
        data = json.dumps(list(text), ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        )
    return hashlib.sha256(data).hexdigest().encode("ascii")


def namespace_id(descriptor):
    """Hash of a namespace descriptor (a JSON-serialisable dict).

    Parameters
    ----------
    descriptor : dict
        Every setting that changes a cached row.

    Returns
    -------
    namespace : str
        32 hexadecimal characters.

    Examples
    --------
    >>> from alien_sk._cache import namespace_id
    >>> namespace_id({"a": 1}) == namespace_id({"a": 1})
    True
    >>> namespace_id({"a": 1}) == namespace_id({"a": 2})
    False
    """
    blob = json.dumps(descriptor, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]


def _warn(msg):
    warnings.warn(msg, CacheWarning, stacklevel=user_stacklevel())


def _dir_size(path):
    total, n_files = 0, 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
                n_files += 1
            except OSError:
                pass
    return total, n_files


class NullStore:
    """The store used when ``cache_dir=None``: stores nothing, finds nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk._cache import NullStore
    >>> store = NullStore()
    >>> store.put([b"k"], [np.zeros((1, 2), np.float32)])
    >>> store.get([b"k"])
    [None]
    """

    path = None

    def get(self, keys, n_rows=None):
        """Return ``None`` for every key."""
        return [None] * len(keys)

    def put(self, keys, rows):
        """Do nothing."""

    def info(self):
        """Describe the (absent) cache."""
        return {
            "path": None,
            "namespace": None,
            "n_entries": 0,
            "n_shards": 0,
            "size_bytes": 0,
        }

    def clear(self, all_namespaces=False):
        """Do nothing; return 0 removed entries."""
        return 0


@contextlib.contextmanager
def _open_npz(path):
    """``np.load(path)`` of an ``.npz``, closing the file if it is not a zip.

    ``np.load(path)`` leaves its file open when the zip directory cannot be
    read (a truncated or overwritten shard); here the file is ours to close.
    """
    with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
        yield z


class FeatureStore:
    """Per-text feature rows of one namespace, stored in immutable shards.

    Parameters
    ----------
    root : str or path-like
        The cache folder (``cache_dir``); created on first write. A leading
        ``~`` is expanded to the user's home folder.
    descriptor : dict
        JSON-serialisable settings that define the namespace; must contain
        ``"n_features"`` (the width of every row).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from alien_sk._cache import FeatureStore, text_key
    >>> root = tempfile.mkdtemp()
    >>> store = FeatureStore(root, {"model": "m", "n_features": 2})
    >>> store.put([text_key("a")], [np.array([[1.0, 2.0]], np.float32)])
    >>> store.get([text_key("a"), text_key("b")])
    [array([[1., 2.]], dtype=float32), None]
    >>> store.info()["n_entries"]
    1
    """

    def __init__(self, root, descriptor):
        self.root = os.path.expanduser(os.fspath(root))
        self.descriptor = dict(descriptor)
        self.descriptor.setdefault("schema_version", SCHEMA_VERSION)
        self.n_features = int(self.descriptor["n_features"])
        self.namespace = namespace_id(self.descriptor)
        self.path = os.path.join(self.root, self.namespace)
        self._shard_dir = os.path.join(self.path, _SHARDS)
        self._index = {}  # key -> (shard name, start, stop)
        self._seen = set()  # shard names already indexed (or rejected)
        self._disabled = False
        self._opened = False

    # -- namespace -------------------------------------------------------------
    def _open(self):
        """Check (or write) namespace.json; disable the store on a mismatch."""
        if self._opened:
            return
        self._opened = True
        meta = os.path.join(self.path, _NAMESPACE_FILE)
        try:
            with open(meta, encoding="utf-8") as f:
                found = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as e:  # e.g. permissions, too many open files: not ours
            self._disabled = True
            _warn(
                f"feature cache: cannot read {meta} ({e}); the cache is disabled "
                "for this extractor and every row is recomputed."
            )
            return
        except ValueError as e:
            _warn(f"feature cache: corrupt {meta} ({e}); rewriting it.")
            try:
                os.remove(meta)
                self._write_namespace()
            except OSError:
                pass
            return
        if found != json.loads(json.dumps(self.descriptor, sort_keys=True)):
            self._disabled = True
            _warn(
                f"feature cache: {meta} does not describe the current settings "
                "(hash collision or edited file); the cache is disabled for this "
                "extractor and every row is recomputed."
            )

    def _write_namespace(self):
        os.makedirs(self._shard_dir, exist_ok=True)
        meta = os.path.join(self.path, _NAMESPACE_FILE)
        if os.path.exists(meta):
            return
        tmp = os.path.join(self.path, f"{_TMP_PREFIX}{uuid.uuid4().hex}-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.descriptor, f, sort_keys=True, indent=1)
        os.replace(tmp, meta)

    # -- index -------------------------------------------------------------------
    def _refresh(self):
        try:
            names = [
                e.name
                for e in os.scandir(self._shard_dir)
                if e.name.endswith(".npz") and not e.name.startswith(_TMP_PREFIX)
            ]
        except OSError:
            names = []
        vanished = self._seen.difference(names)
        if vanished:  # cleared or removed by another process
            self._seen -= vanished
            self._index = {k: v for k, v in self._index.items() if v[0] not in vanished}
        for name in sorted(set(names) - self._seen):
            self._seen.add(name)
            try:
                with _open_npz(os.path.join(self._shard_dir, name)) as z:
                    keys = z["keys"]
                    offsets = z["offsets"]
                if (
                    keys.ndim != 1
                    or keys.dtype.kind != "S"
                    or offsets.shape != (keys.shape[0] + 1,)
                    or offsets.dtype.kind != "i"
                    or offsets[0] != 0
                    or np.any(np.diff(offsets) < 0)
                ):
                    raise ValueError("malformed keys/offsets")
            except FileNotFoundError:
                continue  # cleared meanwhile
            except (*_CORRUPT, OSError) as e:
                if _is_corrupt(e):
                    self._drop_shard(name, e)
                else:  # unreadable now, maybe not later: keep it
                    self._seen.discard(name)
                    self._skip_shard(name, e)
                continue
            for i, key in enumerate(keys.tolist()):
                self._index[key] = (name, int(offsets[i]), int(offsets[i + 1]))

    def _skip_shard(self, name, error):
        _warn(
            f"feature cache: cannot read shard {name} in {self._shard_dir} "
            f"({type(error).__name__}: {error}); its texts are recomputed this "
            "time and the shard is left in place."
        )

    def _drop_shard(self, name, error):
        _warn(
            f"feature cache: shard {name} in {self._shard_dir} is corrupt "
            f"({type(error).__name__}: {error}); removing it, its texts will be "
            "recomputed."
        )
        self._index = {k: v for k, v in self._index.items() if v[0] != name}
        try:
            os.remove(os.path.join(self._shard_dir, name))
        except OSError:
            pass

    # -- public API --------------------------------------------------------------
    def get(self, keys, n_rows=None):
        """Look rows up.

        Parameters
        ----------
        keys : list of bytes
            Keys from :func:`text_key`.
        n_rows : list of int or None, default=None
            Expected number of rows per key (token level); an entry with
            another count is treated as corrupt. None: one row per key.

        Returns
        -------
        rows : list of (ndarray of shape (n_rows, n_features) or None)
            ``None`` where the key is missing or its entry unreadable.
        """
        out = [None] * len(keys)
        self._open()
        if self._disabled:
            return out
        if any(k not in self._index for k in keys):
            self._refresh()
        by_shard = {}
        for i, key in enumerate(keys):
            hit = self._index.get(key)
            if hit is not None:
                by_shard.setdefault(hit[0], []).append(i)
        for name, positions in by_shard.items():
            try:
                with _open_npz(os.path.join(self._shard_dir, name)) as z:
                    rows = z["rows"]
                    offsets = z["offsets"]
                if (
                    rows.ndim != 2
                    or rows.shape[1] != self.n_features
                    or rows.dtype != np.float32
                    or offsets[-1] != rows.shape[0]
                ):
                    raise ValueError(
                        f"rows of shape {rows.shape} and dtype {rows.dtype}, expected "
                        f"(n, {self.n_features}) float32"
                    )
            except FileNotFoundError:
                self._index = {k: v for k, v in self._index.items() if v[0] != name}
                continue
            except (*_CORRUPT, OSError) as e:
                if _is_corrupt(e):
                    self._drop_shard(name, e)
                else:
                    self._skip_shard(name, e)
                continue
            for i in positions:
                _, start, stop = self._index[keys[i]]
                expected = 1 if n_rows is None else n_rows[i]
                if stop - start != expected:
                    _warn(
                        f"feature cache: entry {keys[i].decode()} in shard {name} has "
                        f"{stop - start} rows, expected {expected}; recomputing it."
                    )
                    continue
                out[i] = rows[start:stop]
        return out

    def put(self, keys, rows):
        """Store rows in one new shard; warn (never raise) on failure.

        Parameters
        ----------
        keys : list of bytes
            Keys from :func:`text_key`.
        rows : list of ndarray of shape (n_rows_i, n_features)
            The feature rows of each key.
        """
        if not keys or self._disabled:
            return
        self._open()
        if self._disabled:
            return
        tmp = None
        try:
            self._write_namespace()
            offsets = np.zeros(len(keys) + 1, dtype=np.int64)
            np.cumsum([r.shape[0] for r in rows], out=offsets[1:])
            data = np.concatenate(rows, axis=0).astype(np.float32, copy=False)
            name = f"{uuid.uuid4().hex}.npz"
            tmp = os.path.join(self._shard_dir, f"{_TMP_PREFIX}{name}-{os.getpid()}")
            with open(tmp, "wb") as f:
                np.savez(
                    f, keys=np.array(keys, dtype="S64"), offsets=offsets, rows=data
                )
            os.replace(tmp, os.path.join(self._shard_dir, name))
            tmp = None
        except (OSError, ValueError) as e:
            _warn(
                f"feature cache: could not write to {self.path} "
                f"({type(e).__name__}: {e}); these rows stay uncached."
            )
            return
        finally:
            if tmp is not None:
                try:
                    os.remove(tmp)
                except OSError:
                    pass
        self._seen.add(name)
        for i, key in enumerate(keys):
            self._index[key] = (name, int(offsets[i]), int(offsets[i + 1]))

    def info(self):
        """Describe this namespace of the cache.

        Returns
        -------
        info : dict
            ``path``, ``namespace``, ``n_entries`` (distinct texts stored),
            ``n_shards`` and ``size_bytes`` (of this namespace's folder).
        """
        self._open()
        if not self._disabled:
            self._refresh()
        size, _ = _dir_size(self.path)
        shards = {v[0] for v in self._index.values()}
        return {
            "path": self.path,
            "namespace": self.namespace,
            "n_entries": len(self._index),
            "n_shards": len(shards),
            "size_bytes": size,
        }

    def clear(self, all_namespaces=False):
        """Delete this namespace (or the whole cache folder's namespaces).

        Parameters
        ----------
        all_namespaces : bool, default=False
            Also delete the rows of every other model and setting stored in
            the same ``cache_dir``.

        Returns
        -------
        n_removed : int
            Number of entries of this namespace that were removed.
        """
        self._open()
        if not self._disabled:
            self._refresh()
        n = len(self._index)
        targets = [self.path]
        if all_namespaces and os.path.isdir(self.root):
            targets = [
                os.path.join(self.root, d)
                for d in os.listdir(self.root)
                if os.path.isfile(os.path.join(self.root, d, _NAMESPACE_FILE))
                or d == self.namespace
            ]
        for target in targets:
            shutil.rmtree(target, ignore_errors=True)
        self._index = {}
        self._seen = set()
        self._opened = False
        self._disabled = False
        return n
