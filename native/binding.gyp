{
  "targets": [
    {
      "target_name": "objectfs_fuse",
      "sources": ["objectfs_fuse.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "<!@(pkg-config fuse3 --cflags-only-other)"],
      "include_dirs": ["<!@(pkg-config fuse3 --cflags-only-I | sed 's/-I//g')"],
      "libraries": ["<!@(pkg-config fuse3 --libs)"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
