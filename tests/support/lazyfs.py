#!/usr/bin/env python3
"""A FUSE file system that loses what was not synced, for power-loss tests.

    lazyfs.py BACKING MOUNTPOINT

Files under MOUNTPOINT are the files of BACKING, but written data stays in this process's
memory (the "page cache") until the file is fsync'ed or fdatasync'ed; only then is it written
to BACKING and synced there. Closing a file does not write it. Unmounting (or killing this
process) is the power cut: everything not yet synced is gone, and BACKING holds exactly what a
disk would hold after losing power. Creating, renaming and removing files take effect at once
(metadata is treated as durable; only data can be lost).

On exit it prints one line to stderr: the bytes and files whose unsynced data was dropped,
and how many syncs it served, so a test can tell that its cut really lost something.

Data is tracked per 4 KiB page; a sync writes the dirty pages and the size. Meant for test
data of a few MiB (whole written files are kept in memory)."""
import errno
import os
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations

PAGE = 4096


class Entry:
    def __init__(self, data):
        self.data = bytearray(data)
        self.dirty = set()  # page numbers written since the last sync
        self.resized = False


class LazyFS(Operations):
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.cache = {}  # path -> Entry, for every file written since mount
        self.mutex = threading.Lock()
        self.syncs = 0
        self.next_fh = 1

    # --- helpers -------------------------------------------------------------------------
    def _full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _entry(self, path):
        e = self.cache.get(path)
        if e is None:
            with open(self._full(path), "rb") as f:
                e = Entry(f.read())
            self.cache[path] = e
        return e

    def _fh(self):
        self.next_fh += 1
        return self.next_fh

    def _sync(self, path):
        e = self.cache.get(path)
        self.syncs += 1
        if e is None or (not e.dirty and not e.resized):
            return 0
        fd = os.open(self._full(path), os.O_WRONLY)
        try:
            os.ftruncate(fd, len(e.data))
            for page in sorted(e.dirty):
                chunk = e.data[page * PAGE:(page + 1) * PAGE]
                if chunk:
                    os.pwrite(fd, bytes(chunk), page * PAGE)
            os.fsync(fd)
        finally:
            os.close(fd)
        e.dirty.clear()
        e.resized = False
        return 0

    def unsynced(self):
        files = [e for e in self.cache.values() if e.dirty or e.resized]
        return sum(len(e.dirty) for e in files) * PAGE, len(files)

    # --- metadata, passed through --------------------------------------------------------
    def getattr(self, path, fh=None):
        with self.mutex:
            st = os.lstat(self._full(path))
            attrs = {k: getattr(st, k) for k in (
                "st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime", "st_mtime",
                "st_ctime")}
            e = self.cache.get(path)
            if e is not None:
                attrs["st_size"] = len(e.data)
            return attrs

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._full(path))

    def access(self, path, mode):
        if not os.access(self._full(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._full(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._full(path), times)

    def mkdir(self, path, mode):
        os.mkdir(self._full(path), mode)

    def rmdir(self, path):
        os.rmdir(self._full(path))

    def statfs(self, path):
        st = os.statvfs(self._full(path))
        return {k: getattr(st, k) for k in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
            "f_flag", "f_frsize", "f_namemax")}

    def unlink(self, path):
        with self.mutex:
            os.unlink(self._full(path))
            self.cache.pop(path, None)

    def rename(self, old, new):
        with self.mutex:
            os.rename(self._full(old), self._full(new))
            e = self.cache.pop(old, None)
            self.cache.pop(new, None)
            if e is not None:
                self.cache[new] = e

    # --- data, kept until synced ---------------------------------------------------------
    def create(self, path, mode, fi=None):
        with self.mutex:
            fd = os.open(self._full(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            os.close(fd)
            self.cache[path] = Entry(b"")
            return self._fh()

    def open(self, path, flags):
        with self.mutex:
            if not os.path.exists(self._full(path)):
                raise FuseOSError(errno.ENOENT)
            if flags & os.O_TRUNC:
                e = self._entry(path)
                e.data = bytearray()
                e.resized = True
            return self._fh()

    def read(self, path, size, offset, fh):
        with self.mutex:
            e = self.cache.get(path)
            if e is not None:
                return bytes(e.data[offset:offset + size])
            with open(self._full(path), "rb") as f:
                f.seek(offset)
                return f.read(size)

    def write(self, path, data, offset, fh):
        with self.mutex:
            e = self._entry(path)
            end = offset + len(data)
            if end > len(e.data):
                e.data.extend(b"\0" * (end - len(e.data)))
                e.resized = True
            e.data[offset:end] = data
            e.dirty.update(range(offset // PAGE, (end - 1) // PAGE + 1))
            return len(data)

    def truncate(self, path, length, fh=None):
        with self.mutex:
            e = self._entry(path)
            if length < len(e.data):
                del e.data[length:]
            else:
                e.data.extend(b"\0" * (length - len(e.data)))
            e.resized = True
            e.dirty = {p for p in e.dirty if p * PAGE < length}

    def fsync(self, path, datasync, fh):
        with self.mutex:
            return self._sync(path)

    def flush(self, path, fh):
        return 0  # close(2) does not make data durable

    def release(self, path, fh):
        return 0

    def fsyncdir(self, path, datasync, fh):
        return 0


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    fs = LazyFS(sys.argv[1])
    try:
        FUSE(fs, sys.argv[2], foreground=True, nothreads=False, default_permissions=True)
    finally:
        lost, files = fs.unsynced()
        print(f"lazyfs: power cut: {lost} unsynced bytes in {files} files dropped, "
              f"{fs.syncs} syncs served", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
