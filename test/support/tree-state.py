# Prints, as JSON, everything a dump and load must keep of the tree under argv[1]: per path
# (sorted) the inode number, type, permission bits, uid, gid, link count, size, mtime and
# ctime in ns (atime too for files, taken after reading them), sha256 of files, symlink
# targets and every xattr (hex values). Directory sizes are left out.
import hashlib, json, os, stat, sys

root = sys.argv[1]
out = {}
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(dirnames + filenames):
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, root)
        st = os.lstat(full)
        e = {'ino': st.st_ino, 'mode': oct(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid, 'nlink': st.st_nlink,
             'mtime': st.st_mtime_ns, 'ctime': st.st_ctime_ns}
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(full, 'rb') as f:
                for block in iter(lambda: f.read(1 << 20), b''):
                    h.update(block)
            e['sha256'] = h.hexdigest()
            e['size'] = st.st_size
            e['atime'] = os.lstat(full).st_atime_ns
        elif stat.S_ISLNK(st.st_mode):
            e['target'] = os.readlink(full)
        if not stat.S_ISLNK(st.st_mode):
            e['xattrs'] = {x: os.getxattr(full, x).hex() for x in sorted(os.listxattr(full))}
        out[rel] = e
print(json.dumps(out, sort_keys=True))
