/*
 * ObjectFS's binding of libfuse 3's low-level API (fuse_lowlevel.h) for Node, through N-API.
 *
 * Threads:
 *  - libfuse's multi-threaded loop reads /dev/fuse on its own worker threads. Each handler copies
 *    what it needs out of libfuse's buffers into a `request`, queues it and returns at once; the
 *    answer comes later from JavaScript (libfuse allows fuse_reply_* from any thread, later).
 *  - The queue is handed to JavaScript through one thread-safe function call per wake-up: when
 *    requests pile up while JavaScript is busy, one call delivers them all (a batch).
 *  - Kernel cache notifications run on a thread of their own: notify_inval_inode may block until
 *    writeback completes, and inval_entry must not run inside a related operation.
 *
 * Ownership of a request: created by a worker thread, listed as outstanding until answered, and
 * held by JavaScript as an External once delivered. Exactly one fuse_reply_* (or none for a
 * forget) is ever sent: by JavaScript's reply, by unmount (ENODEV-class EIO for whatever is left)
 * or, if JavaScript drops it unanswered, by the External's finalizer (EIO). The struct itself is
 * freed by that finalizer (or at unmount, if never delivered). The session is reference-counted
 * by its requests, so a late finalizer never touches freed memory.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>

/* Operation codes: keep in step with src/fuse/native.ts (Op). */
enum op {
  OP_LOOKUP = 1, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD, OP_MKDIR, OP_UNLINK,
  OP_RMDIR, OP_SYMLINK, OP_RENAME, OP_LINK, OP_OPEN, OP_READ, OP_WRITE, OP_FLUSH, OP_RELEASE,
  OP_FSYNC, OP_OPENDIR, OP_READDIR, OP_RELEASEDIR, OP_FSYNCDIR, OP_STATFS, OP_SETXATTR,
  OP_GETXATTR, OP_LISTXATTR, OP_REMOVEXATTR, OP_CREATE, OP_FALLOCATE, OP_COPY_FILE_RANGE,
  OP_LSEEK, OP_ENDED, OP_GETLK, OP_SETLK, OP_INTERRUPT, OP_OPEN_REFUSED
};

/* Float64Array layouts shared with src/fuse/native.ts. */
#define ATTR_LEN 15  /* ino mode nlink uid gid rdev size blksize blocks at_s at_ns mt_s mt_ns ct_s ct_ns */
#define ENTRY_LEN (4 + ATTR_LEN) /* nodeid generation attr_timeout entry_timeout, attr */
#define DIRENT_LEN (1 + ENTRY_LEN) /* off, entry */
#define SETATTR_LEN 8 /* mode uid gid size at_s at_ns mt_s mt_ns */

typedef struct session session;

typedef struct request {
  struct request *next;                 /* delivery queue */
  struct request *out_prev, *out_next;  /* outstanding list (unanswered) */
  session *s;
  fuse_req_t req;                       /* NULL once answered (or for a forget) */
  int op;
  bool answered;
  uint64_t ino, ino2, fh, fh2, size;
  int64_t off, off2;
  uint32_t mode, uid, gid, pid, umask;
  int64_t a, b;                         /* op-specific integers: flags, rdev, to_set, whence… */
  uint64_t owner;                       /* lock owner (locks, flush, release) */
  uint64_t id;                          /* interruptible requests: the id an INTERRUPT names */
  double values[SETATTR_LEN];           /* setattr */
  char *name, *name2;
  size_t name_len, name2_len;
  void *data;                           /* write payload, xattr value, forget pairs: handed to JS */
  size_t data_len;
} request;

typedef struct notice {
  struct notice *next;
  int kind; /* 0 inval_inode, 1 inval_entry, 2 delete, 3 inval_inode then reply_err(req, err),
                4 inval_inode's attributes then reply_open(req, &open) */
  uint64_t parent, child;
  fuse_req_t req; /* kinds 3 and 4: answered here, after the invalidation */
  int err;
  struct fuse_file_info open; /* kind 4 */
  int64_t off, len;
  size_t name_len;
  char name[];
} notice;

struct session {
  struct fuse_session *se;
  napi_threadsafe_function tsfn;
  pthread_t loop_thread, notify_thread;
  pthread_mutex_t lock;
  pthread_cond_t notify_cond;
  request *queue_head, *queue_tail;
  bool wake_pending;
  request *outstanding;
  int64_t outstanding_count;
  notice *notice_head, *notice_tail;
  /* Notices queued and not yet handed to the kernel, and those handed over (for the metrics). */
  uint64_t notices_waiting, notices_sent;
  bool stopping;
  bool mounted;
  int refs; /* 1 for the session itself + 1 per live request */
  /* Negotiated in init (set before the loop starts). */
  unsigned max_write, max_readahead, max_background;
  bool writeback;
  unsigned threads;
  struct fuse_loop_config *loop_config;
};

/* Requests allocated and not yet freed, across sessions (tests check nothing leaks). */
static int64_t live_requests = 0;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(env, call)                                   \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      napi_throw_error((env), NULL, "N-API call failed: " #call); \
      return NULL;                                         \
    }                                                      \
  } while (0)

/* ------------------------------------------------------------------ sessions and requests */

static void session_unref(session *s) {
  pthread_mutex_lock(&s->lock);
  int left = --s->refs;
  pthread_mutex_unlock(&s->lock);
  if (left > 0) return;
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->notify_cond);
  free(s);
}

static void live_add(int64_t n) {
  pthread_mutex_lock(&live_lock);
  live_requests += n;
  pthread_mutex_unlock(&live_lock);
}

/* A request with room for two names (copied: libfuse's buffers are reused after the handler). */
static request *request_new(fuse_req_t req, int op, const char *name, const char *name2) {
  session *s = fuse_req_userdata(req);
  size_t n1 = name ? strlen(name) : 0, n2 = name2 ? strlen(name2) : 0;
  request *r = calloc(1, sizeof(request) + n1 + n2 + 2);
  if (r == NULL) return NULL;
  r->s = s;
  r->req = req;
  r->op = op;
  const struct fuse_ctx *ctx = fuse_req_ctx(req);
  r->uid = ctx->uid;
  r->gid = ctx->gid;
  r->pid = ctx->pid;
  r->umask = ctx->umask;
  char *p = (char *)(r + 1);
  if (name) { memcpy(p, name, n1); r->name = p; r->name_len = n1; }
  p += n1 + 1;
  if (name2) { memcpy(p, name2, n2); r->name2 = p; r->name2_len = n2; }
  live_add(1);
  return r;
}

static void request_free(request *r) {
  free(r->data);
  free(r);
  live_add(-1);
}

/* Queues a request for JavaScript; wakes it only if the queue was empty (one call per batch). */
static void submit(request *r) {
  session *s = r->s;
  bool wake;
  pthread_mutex_lock(&s->lock);
  s->refs++;
  if (r->req != NULL) {
    r->out_next = s->outstanding;
    if (s->outstanding) s->outstanding->out_prev = r;
    s->outstanding = r;
    s->outstanding_count++;
  }
  if (s->queue_tail) s->queue_tail->next = r; else s->queue_head = r;
  s->queue_tail = r;
  wake = !s->wake_pending;
  s->wake_pending = true;
  pthread_mutex_unlock(&s->lock);
  if (wake) napi_call_threadsafe_function(s->tsfn, NULL, napi_tsfn_nonblocking);
}

/* Takes the request's fuse_req_t for replying, exactly once; NULL if it was answered already. */
static fuse_req_t take(request *r) {
  session *s = r->s;
  fuse_req_t req = NULL;
  pthread_mutex_lock(&s->lock);
  if (!r->answered && r->req != NULL) {
    req = r->req;
    r->answered = true;
    r->req = NULL;
    if (r->out_prev) r->out_prev->out_next = r->out_next; else s->outstanding = r->out_next;
    if (r->out_next) r->out_next->out_prev = r->out_prev;
    r->out_prev = r->out_next = NULL;
    s->outstanding_count--;
  }
  pthread_mutex_unlock(&s->lock);
  return req;
}

/* Out of memory on a worker thread: answer at once, JavaScript never sees the request. */
#define NEW_OR_FAIL(r, req, op, n1, n2)         \
  request *r = request_new((req), (op), (n1), (n2)); \
  if (r == NULL) { fuse_reply_err((req), ENOMEM); return; }

static uint64_t fh_of(struct fuse_file_info *fi) { return fi ? fi->fh : UINT64_MAX; }

/* ------------------------------------------------------------------ libfuse handlers */

static void ll_init(void *userdata, struct fuse_conn_info *conn) {
  session *s = userdata;
  unsigned want = FUSE_CAP_ASYNC_READ | FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS |
                  FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_AUTO_INVAL_DATA;
  if (s->writeback) want |= FUSE_CAP_WRITEBACK_CACHE;
  conn->want |= want & conn->capable;
  /* Every listing is a readdirplus: the entries' attributes come from the same query. */
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  /* Locks are the volume's, across hosts: the kernel sends every lock request here. */
  conn->want |= (FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS) & conn->capable;
  conn->max_write = s->max_write;
  conn->max_readahead = s->max_readahead;
  if (s->max_background) {
    conn->max_background = s->max_background;
    conn->congestion_threshold = s->max_background * 3 / 4;
  }
  conn->time_gran = 1;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  NEW_OR_FAIL(r, req, OP_LOOKUP, name, NULL);
  r->ino = parent;
  submit(r);
}

static void forget_items(fuse_req_t req, size_t count, const uint64_t *pairs) {
  session *s = fuse_req_userdata(req);
  request *r = calloc(1, sizeof(request));
  double *data = malloc(count * 2 * sizeof(double));
  fuse_reply_none(req);
  if (r == NULL || data == NULL) { free(r); free(data); return; } /* counts stay high: harmless */
  for (size_t i = 0; i < count * 2; i++) data[i] = (double)pairs[i];
  r->s = s;
  r->op = OP_FORGET;
  r->answered = true;
  r->data = data;
  r->data_len = count * 2 * sizeof(double);
  live_add(1);
  submit(r);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  uint64_t pair[2] = {ino, nlookup};
  forget_items(req, 1, pair);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  uint64_t *pairs = malloc(count * 2 * sizeof(uint64_t));
  if (pairs == NULL) { fuse_reply_none(req); return; }
  for (size_t i = 0; i < count; i++) { pairs[2 * i] = forgets[i].ino; pairs[2 * i + 1] = forgets[i].nlookup; }
  forget_items(req, count, pairs);
  free(pairs);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_GETATTR, NULL, NULL);
  r->ino = ino;
  r->fh = fh_of(fi);
  submit(r);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_SETATTR, NULL, NULL);
  r->ino = ino;
  r->fh = fh_of(fi);
  r->a = to_set;
  double v[SETATTR_LEN] = {attr->st_mode, attr->st_uid, attr->st_gid, (double)attr->st_size,
                           (double)attr->st_atim.tv_sec, attr->st_atim.tv_nsec,
                           (double)attr->st_mtim.tv_sec, attr->st_mtim.tv_nsec};
  memcpy(r->values, v, sizeof(v));
  submit(r);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino) {
  NEW_OR_FAIL(r, req, OP_READLINK, NULL, NULL);
  r->ino = ino;
  submit(r);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  NEW_OR_FAIL(r, req, OP_MKNOD, name, NULL);
  r->ino = parent;
  r->mode = mode;
  r->a = (int64_t)rdev;
  submit(r);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  NEW_OR_FAIL(r, req, OP_MKDIR, name, NULL);
  r->ino = parent;
  r->mode = mode;
  submit(r);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  NEW_OR_FAIL(r, req, OP_UNLINK, name, NULL);
  r->ino = parent;
  submit(r);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  NEW_OR_FAIL(r, req, OP_RMDIR, name, NULL);
  r->ino = parent;
  submit(r);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
  NEW_OR_FAIL(r, req, OP_SYMLINK, name, link);
  r->ino = parent;
  submit(r);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags) {
  NEW_OR_FAIL(r, req, OP_RENAME, name, newname);
  r->ino = parent;
  r->ino2 = newparent;
  r->a = flags;
  submit(r);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
  NEW_OR_FAIL(r, req, OP_LINK, newname, NULL);
  r->ino = ino;
  r->ino2 = newparent;
  submit(r);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_OPEN, NULL, NULL);
  r->ino = ino;
  r->a = fi->flags;
  submit(r);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_READ, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->size = size;
  r->off = off;
  submit(r);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  /* The payload lives in libfuse's receive buffer, reused once we return: copy it here, off the
   * JavaScript thread. JavaScript receives this copy as an external Buffer (no second copy). */
  void *data = malloc(size ? size : 1);
  if (data == NULL) { fuse_reply_err(req, ENOMEM); return; }
  request *r = request_new(req, OP_WRITE, NULL, NULL);
  if (r == NULL) { free(data); fuse_reply_err(req, ENOMEM); return; }
  memcpy(data, buf, size);
  r->data = data;
  r->data_len = size;
  r->ino = ino;
  r->fh = fi->fh;
  r->off = off;
  r->a = fi->writepage;
  submit(r);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_FLUSH, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->owner = fi->lock_owner; /* a close by this owner ends its POSIX locks on the file */
  submit(r);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_RELEASE, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->a = fi->flags;
  r->b = fi->flock_release; /* the file held a flock: its owner's flock ends here */
  r->owner = fi->lock_owner;
  submit(r);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_FSYNC, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->a = datasync;
  submit(r);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_OPENDIR, NULL, NULL);
  r->ino = ino;
  r->a = fi->flags;
  submit(r);
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi, int plus) {
  NEW_OR_FAIL(r, req, OP_READDIR, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->size = size;
  r->off = off;
  r->a = plus;
  submit(r);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  readdir_common(req, ino, size, off, fi, 0);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  readdir_common(req, ino, size, off, fi, 1);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_RELEASEDIR, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  submit(r);
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_FSYNCDIR, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->a = datasync;
  submit(r);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino) {
  NEW_OR_FAIL(r, req, OP_STATFS, NULL, NULL);
  r->ino = ino;
  submit(r);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags) {
  void *data = malloc(size ? size : 1);
  if (data == NULL) { fuse_reply_err(req, ENOMEM); return; }
  request *r = request_new(req, OP_SETXATTR, name, NULL);
  if (r == NULL) { free(data); fuse_reply_err(req, ENOMEM); return; }
  memcpy(data, value, size);
  r->data = data;
  r->data_len = size;
  r->ino = ino;
  r->a = flags;
  submit(r);
}

static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  NEW_OR_FAIL(r, req, OP_GETXATTR, name, NULL);
  r->ino = ino;
  r->size = size;
  submit(r);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  NEW_OR_FAIL(r, req, OP_LISTXATTR, NULL, NULL);
  r->ino = ino;
  r->size = size;
  submit(r);
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
  NEW_OR_FAIL(r, req, OP_REMOVEXATTR, name, NULL);
  r->ino = ino;
  submit(r);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_CREATE, name, NULL);
  r->ino = parent;
  r->mode = mode;
  r->a = fi->flags;
  submit(r);
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_FALLOCATE, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->a = mode;
  r->off = offset;
  r->size = (uint64_t)length;
  submit(r);
}

static void ll_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in,
                               fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags) {
  NEW_OR_FAIL(r, req, OP_COPY_FILE_RANGE, NULL, NULL);
  r->ino = ino_in;
  r->fh = fi_in->fh;
  r->off = off_in;
  r->ino2 = ino_out;
  r->fh2 = fi_out->fh;
  r->off2 = off_out;
  r->size = len;
  r->a = flags;
  submit(r);
}

static void ll_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi) {
  NEW_OR_FAIL(r, req, OP_LSEEK, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->off = off;
  r->a = whence;
  submit(r);
}

/* Ids for interruptible requests (lock waits): an INTERRUPT names the request by this id. */
static uint64_t next_request_id = 1;

/* FUSE INTERRUPT of a waiting lock request (libfuse calls this on a worker thread, or at once
 * if the interrupt came first): JavaScript gets a request-less notice naming the waiter's id. */
static void on_interrupt(fuse_req_t req, void *data) {
  session *s = fuse_req_userdata(req);
  request *n = calloc(1, sizeof(request));
  if (n == NULL) return; /* the wait goes on until the lock is free: no worse than without */
  n->s = s;
  n->op = OP_INTERRUPT;
  n->answered = true;
  n->id = (uint64_t)(uintptr_t)data;
  live_add(1);
  submit(n);
}

/* A lock request: a = type (F_RDLCK, F_WRLCK, F_UNLCK), off = start, off2 = length (0: to the
 * end of the file), b = 1 to wait, size = 1 for flock(2), 0 for POSIX/OFD locks. */
static void lock_request(fuse_req_t req, int op, fuse_ino_t ino, struct fuse_file_info *fi, int type,
                         off_t start, off_t len, pid_t pid, int wait, int is_flock) {
  NEW_OR_FAIL(r, req, op, NULL, NULL);
  r->ino = ino;
  r->fh = fi->fh;
  r->owner = fi->lock_owner;
  r->a = type;
  r->off = start;
  r->off2 = len;
  r->b = wait;
  r->size = (uint64_t)is_flock;
  if (pid) r->pid = (uint32_t)pid;
  if (wait) {
    /* Registered before the request is queued: the request may be answered (and libfuse's
     * req freed) as soon as it is. The id, not the struct, is handed over. */
    pthread_mutex_lock(&live_lock);
    r->id = next_request_id++;
    pthread_mutex_unlock(&live_lock);
    fuse_req_interrupt_func(req, on_interrupt, (void *)(uintptr_t)r->id);
  }
  submit(r);
}

static void ll_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock) {
  lock_request(req, OP_GETLK, ino, fi, lock->l_type, lock->l_start, lock->l_len, lock->l_pid, 0, 0);
}

static void ll_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock, int sleep) {
  lock_request(req, OP_SETLK, ino, fi, lock->l_type, lock->l_start, lock->l_len, lock->l_pid, sleep, 0);
}

static void ll_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op) {
  int kind = op & (LOCK_SH | LOCK_EX | LOCK_UN);
  int type = kind == LOCK_SH ? F_RDLCK : kind == LOCK_EX ? F_WRLCK : F_UNLCK;
  lock_request(req, OP_SETLK, ino, fi, type, 0, 0, 0, (op & LOCK_NB) == 0 && type != F_UNLCK, 1);
}

static const struct fuse_lowlevel_ops ll_ops = {
  .init = ll_init, .lookup = ll_lookup, .forget = ll_forget, .forget_multi = ll_forget_multi,
  .getattr = ll_getattr, .setattr = ll_setattr, .readlink = ll_readlink, .mknod = ll_mknod,
  .mkdir = ll_mkdir, .unlink = ll_unlink, .rmdir = ll_rmdir, .symlink = ll_symlink,
  .rename = ll_rename, .link = ll_link, .open = ll_open, .read = ll_read, .write = ll_write,
  .flush = ll_flush, .release = ll_release, .fsync = ll_fsync, .opendir = ll_opendir,
  .readdir = ll_readdir, .readdirplus = ll_readdirplus, .releasedir = ll_releasedir,
  .fsyncdir = ll_fsyncdir, .statfs = ll_statfs, .setxattr = ll_setxattr, .getxattr = ll_getxattr,
  .listxattr = ll_listxattr, .removexattr = ll_removexattr, .create = ll_create,
  .fallocate = ll_fallocate, .copy_file_range = ll_copy_file_range, .lseek = ll_lseek,
  /* With these, libfuse asks the kernel for every lock request (POSIX, OFD, flock). */
  .getlk = ll_getlk, .setlk = ll_setlk, .flock = ll_flock,
};

/* ------------------------------------------------------------------ threads */

static void *loop_main(void *arg) {
  session *s = arg;
  fuse_session_loop_mt(s->se, s->loop_config);
  /* Unmounted (from outside or by us): tell JavaScript. */
  request *r = calloc(1, sizeof(request));
  if (r != NULL) {
    r->s = s;
    r->op = OP_ENDED;
    r->answered = true;
    live_add(1);
    submit(r);
  }
  return NULL;
}

/* Tells JavaScript that the kernel refused the open reply of handle `fh` (no RELEASE will come). */
static void submit_open_refused(session *s, uint64_t fh) {
  request *r = calloc(1, sizeof(request));
  if (r == NULL) return; /* the handle stays open until unmount: a leak, not a fault */
  r->s = s;
  r->op = OP_OPEN_REFUSED;
  r->answered = true;
  r->id = fh;
  live_add(1);
  submit(r);
}

static void *notify_main(void *arg) {
  session *s = arg;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    while (s->notice_head == NULL && !s->stopping) pthread_cond_wait(&s->notify_cond, &s->lock);
    notice *n = s->notice_head;
    if (n == NULL) break; /* stopping, nothing left */
    s->notice_head = n->next;
    if (s->notice_head == NULL) s->notice_tail = NULL;
    s->notices_waiting--;
    bool live = s->mounted;
    pthread_mutex_unlock(&s->lock);
    /* Errors (ENOENT: the kernel does not know that inode or name) need no action. */
    if (live) {
      if (n->kind == 0) fuse_lowlevel_notify_inval_inode(s->se, n->child, n->off, n->len);
      else if (n->kind == 1) fuse_lowlevel_notify_inval_entry(s->se, n->parent, n->name, n->name_len);
      else if (n->kind == 2) fuse_lowlevel_notify_delete(s->se, n->parent, n->child, n->name, n->name_len);
      else if (n->kind == 3) fuse_lowlevel_notify_inval_inode(s->se, n->child, 0, 0);
      /* Attributes only (offset -1): takes no page or inode lock, so an open holding its inode
       * (O_TRUNC) cannot block it. */
      else fuse_lowlevel_notify_inval_inode(s->se, n->child, -1, 0);
    }
    /* A reply queued behind the invalidation: the caller sees the kernel's caches dropped first. */
    if (n->kind == 3) fuse_reply_err(n->req, n->err);
    /* An open the kernel no longer waits for (the opener was killed): JavaScript closes it. */
    if (n->kind == 4 && fuse_reply_open(n->req, &n->open) != 0) submit_open_refused(s, n->open.fh);
    free(n);
    pthread_mutex_lock(&s->lock);
    s->notices_sent++;
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* ------------------------------------------------------------------ delivery to JavaScript */

static void set_num(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, key, n);
}

static void set_buf(napi_env env, napi_value obj, const char *key, const char *p, size_t len) {
  napi_value b;
  void *copy;
  napi_create_buffer_copy(env, len, p, &copy, &b);
  napi_set_named_property(env, obj, key, b);
}

static void free_data(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

/* The External's finalizer: JavaScript let go of a request. Answer it if nobody did (EIO). */
static void request_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  request *r = data;
  session *s = r->s;
  fuse_req_t req = take(r);
  if (req != NULL) fuse_reply_err(req, EIO);
  request_free(r);
  session_unref(s);
}

static napi_value request_object(napi_env env, request *r) {
  napi_value obj, ext;
  napi_create_object(env, &obj);
  set_num(env, obj, "op", r->op);
  if (r->op == OP_FORGET) {
    napi_value ab, arr;
    size_t count = r->data_len / sizeof(double);
    napi_create_external_arraybuffer(env, r->data, r->data_len, free_data, NULL, &ab);
    r->data = NULL;
    napi_create_typedarray(env, napi_float64_array, count, ab, 0, &arr);
    napi_set_named_property(env, obj, "forgets", arr);
    return obj;
  }
  if (r->op == OP_ENDED) return obj;
  if (r->op == OP_INTERRUPT || r->op == OP_OPEN_REFUSED) { set_num(env, obj, "id", (double)r->id); return obj; }
  napi_create_external(env, r, request_finalize, NULL, &ext);
  napi_set_named_property(env, obj, "req", ext);
  set_num(env, obj, "ino", (double)r->ino);
  set_num(env, obj, "uid", r->uid);
  set_num(env, obj, "gid", r->gid);
  set_num(env, obj, "pid", r->pid);
  if (r->fh != 0 || r->op == OP_READ || r->op == OP_WRITE) set_num(env, obj, "fh", r->fh == UINT64_MAX ? -1 : (double)r->fh);
  if (r->op == OP_GETLK || r->op == OP_SETLK || r->op == OP_FLUSH || r->op == OP_RELEASE) {
    napi_value owner;
    napi_create_bigint_uint64(env, r->owner, &owner); /* 64 bits: more than a double holds */
    napi_set_named_property(env, obj, "owner", owner);
  }
  if (r->op == OP_RELEASE) set_num(env, obj, "flockRelease", (double)r->b);
  if (r->name) set_buf(env, obj, "name", r->name, r->name_len);
  if (r->name2) set_buf(env, obj, "name2", r->name2, r->name2_len);
  switch (r->op) {
    case OP_SETATTR: {
      napi_value ab, arr;
      double *v;
      napi_create_arraybuffer(env, sizeof(r->values), (void **)&v, &ab);
      memcpy(v, r->values, sizeof(r->values));
      napi_create_typedarray(env, napi_float64_array, SETATTR_LEN, ab, 0, &arr);
      napi_set_named_property(env, obj, "values", arr);
      set_num(env, obj, "toSet", (double)r->a);
      break;
    }
    case OP_MKNOD: set_num(env, obj, "mode", r->mode); set_num(env, obj, "rdev", (double)r->a); break;
    case OP_MKDIR: set_num(env, obj, "mode", r->mode); set_num(env, obj, "umask", r->umask); break;
    case OP_CREATE: set_num(env, obj, "mode", r->mode); set_num(env, obj, "flags", (double)r->a); break;
    case OP_RENAME: set_num(env, obj, "ino2", (double)r->ino2); set_num(env, obj, "flags", (double)r->a); break;
    case OP_LINK: set_num(env, obj, "ino2", (double)r->ino2); break;
    case OP_OPEN: case OP_OPENDIR: case OP_RELEASE: set_num(env, obj, "flags", (double)r->a); break;
    case OP_READ: set_num(env, obj, "size", (double)r->size); set_num(env, obj, "off", (double)r->off); break;
    case OP_READDIR:
      set_num(env, obj, "size", (double)r->size);
      set_num(env, obj, "off", (double)r->off);
      set_num(env, obj, "plus", (double)r->a);
      break;
    case OP_WRITE: case OP_SETXATTR: {
      napi_value b;
      napi_create_external_buffer(env, r->data_len, r->data ? r->data : "", r->data ? free_data : NULL, NULL, &b);
      r->data = NULL; /* the Buffer owns it now */
      napi_set_named_property(env, obj, "data", b);
      if (r->op == OP_WRITE) set_num(env, obj, "off", (double)r->off);
      set_num(env, obj, "flags", (double)r->a);
      break;
    }
    case OP_FSYNC: case OP_FSYNCDIR: set_num(env, obj, "datasync", (double)r->a); break;
    case OP_GETXATTR: case OP_LISTXATTR: set_num(env, obj, "size", (double)r->size); break;
    case OP_FALLOCATE:
      set_num(env, obj, "mode", (double)r->a);
      set_num(env, obj, "off", (double)r->off);
      set_num(env, obj, "length", (double)r->size);
      break;
    case OP_COPY_FILE_RANGE:
      set_num(env, obj, "off", (double)r->off);
      set_num(env, obj, "ino2", (double)r->ino2);
      set_num(env, obj, "fh2", (double)r->fh2);
      set_num(env, obj, "off2", (double)r->off2);
      set_num(env, obj, "size", (double)r->size);
      set_num(env, obj, "flags", (double)r->a);
      break;
    case OP_LSEEK: set_num(env, obj, "off", (double)r->off); set_num(env, obj, "whence", (double)r->a); break;
    case OP_GETLK: case OP_SETLK:
      set_num(env, obj, "lockType", (double)r->a);
      set_num(env, obj, "off", (double)r->off);
      set_num(env, obj, "length", (double)r->off2);
      set_num(env, obj, "wait", (double)r->b);
      set_num(env, obj, "flock", (double)r->size);
      if (r->id) set_num(env, obj, "id", (double)r->id);
      break;
    default: break;
  }
  return obj;
}

/* Runs on the JavaScript thread: hands every queued request to the dispatcher in one call. */
static void deliver(napi_env env, napi_value dispatcher, void *context, void *data) {
  (void)data;
  session *s = context;
  pthread_mutex_lock(&s->lock);
  request *r = s->queue_head;
  s->queue_head = s->queue_tail = NULL;
  s->wake_pending = false;
  pthread_mutex_unlock(&s->lock);
  if (env == NULL) { /* the function is being torn down: unmount answers what is outstanding */
    while (r) { request *next = r->next; if (r->req == NULL) { request_free(r); session_unref(s); } r = next; }
    return;
  }
  uint32_t count = 0;
  for (request *p = r; p; p = p->next) count++;
  napi_value batch, undefined;
  napi_create_array_with_length(env, count, &batch);
  uint32_t i = 0;
  while (r) {
    request *next = r->next;
    r->next = NULL;
    napi_set_element(env, batch, i++, request_object(env, r));
    if (r->op == OP_FORGET || r->op == OP_ENDED || r->op == OP_INTERRUPT || r->op == OP_OPEN_REFUSED) { request_free(r); session_unref(s); }
    r = next;
  }
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, dispatcher, 1, &batch, NULL);
}

/* ------------------------------------------------------------------ JavaScript API */

static request *request_arg(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static double num_arg(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

static double *f64_arg(napi_env env, napi_value v, size_t min_len) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok) return NULL;
  if (type != napi_float64_array || len < min_len) return NULL;
  return data;
}

static void fill_stat(const double *a, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_ino = (ino_t)a[0];
  st->st_mode = (mode_t)a[1];
  st->st_nlink = (nlink_t)a[2];
  st->st_uid = (uid_t)a[3];
  st->st_gid = (gid_t)a[4];
  st->st_rdev = (dev_t)a[5];
  st->st_size = (off_t)a[6];
  st->st_blksize = (blksize_t)a[7];
  st->st_blocks = (blkcnt_t)a[8];
  st->st_atim.tv_sec = (time_t)a[9];
  st->st_atim.tv_nsec = (long)a[10];
  st->st_mtim.tv_sec = (time_t)a[11];
  st->st_mtim.tv_nsec = (long)a[12];
  st->st_ctim.tv_sec = (time_t)a[13];
  st->st_ctim.tv_nsec = (long)a[14];
}

static void fill_entry(const double *e, struct fuse_entry_param *p) {
  memset(p, 0, sizeof(*p));
  p->ino = (fuse_ino_t)e[0];
  p->generation = (uint64_t)e[1];
  p->attr_timeout = e[2];
  p->entry_timeout = e[3];
  fill_stat(e + 4, &p->attr);
}

static napi_value int_result(napi_env env, int rc) {
  napi_value v;
  napi_create_int32(env, rc, &v);
  return v;
}

static bool queue_notice(session *s, notice *n);

/* Every reply function: (request, ...) → 0, -errno from libfuse, or 1 if already answered. */
#define REPLY_PROLOGUE(n)                                   \
  size_t argc = (n);                                        \
  napi_value argv[(n) > 0 ? (n) : 1];                       \
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  request *r = request_arg(env, argv[0]);                   \
  if (r == NULL) { napi_throw_type_error(env, NULL, "not a request"); return NULL; } \
  fuse_req_t req = take(r);                                 \
  if (req == NULL) return int_result(env, 1);

static napi_value reply_err(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2);
  return int_result(env, fuse_reply_err(req, (int)num_arg(env, argv[1])));
}

/*
 * replyErrAfterInval(request, errno, ino): the reply goes out on the notification thread, after
 * the kernel dropped its caches of `ino` (a lock grant: the process must not read pages that the
 * previous holder's host changed). Answered here means taken: the finalizer will not touch it.
 */
static napi_value reply_err_after_inval(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3);
  notice *n = calloc(1, sizeof(notice) + 1);
  if (n == NULL) return int_result(env, fuse_reply_err(req, (int)num_arg(env, argv[1])));
  n->kind = 3;
  n->req = req;
  n->err = (int)num_arg(env, argv[1]);
  n->child = (uint64_t)num_arg(env, argv[2]);
  if (queue_notice(r->s, n)) return int_result(env, 0);
  free(n); /* unmounting: no cache left to drop, answer now */
  return int_result(env, fuse_reply_err(req, (int)num_arg(env, argv[1])));
}

static napi_value reply_entry(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2);
  double *e = f64_arg(env, argv[1], ENTRY_LEN);
  if (e == NULL) return int_result(env, fuse_reply_err(req, EIO));
  struct fuse_entry_param p;
  fill_entry(e, &p);
  return int_result(env, fuse_reply_entry(req, &p));
}

static void fill_open(napi_env env, napi_value fh, napi_value flags, struct fuse_file_info *fi) {
  memset(fi, 0, sizeof(*fi));
  fi->fh = (uint64_t)num_arg(env, fh);
  int f = (int)num_arg(env, flags);
  fi->direct_io = (f & 1) != 0;
  fi->keep_cache = (f & 2) != 0;
  fi->cache_readdir = (f & 4) != 0;
  fi->noflush = (f & 8) != 0;
}

static napi_value reply_create(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(4);
  double *e = f64_arg(env, argv[1], ENTRY_LEN);
  if (e == NULL) return int_result(env, fuse_reply_err(req, EIO));
  struct fuse_entry_param p;
  struct fuse_file_info fi;
  fill_entry(e, &p);
  fill_open(env, argv[2], argv[3], &fi);
  return int_result(env, fuse_reply_create(req, &p, &fi));
}

static napi_value reply_attr(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3);
  double *a = f64_arg(env, argv[1], ATTR_LEN);
  if (a == NULL) return int_result(env, fuse_reply_err(req, EIO));
  struct stat st;
  fill_stat(a, &st);
  return int_result(env, fuse_reply_attr(req, &st, num_arg(env, argv[2])));
}

static napi_value reply_open(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(3);
  struct fuse_file_info fi;
  fill_open(env, argv[1], argv[2], &fi);
  return int_result(env, fuse_reply_open(req, &fi));
}

/*
 * replyOpenAfterInval(request, fh, flags, ino): as replyOpen, but the reply goes out on the
 * notification thread after the kernel dropped its attributes of `ino` (another host changed
 * the file: close-to-open must not read with the kernel's old length). A refused reply comes
 * back to JavaScript as OPEN_REFUSED naming `fh`; a result of 0 means taken.
 */
static napi_value reply_open_after_inval(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(4);
  notice *n = calloc(1, sizeof(notice) + 1);
  struct fuse_file_info fi;
  fill_open(env, argv[1], argv[2], &fi);
  if (n == NULL) return int_result(env, fuse_reply_open(req, &fi));
  n->kind = 4;
  n->req = req;
  n->open = fi;
  n->child = (uint64_t)num_arg(env, argv[3]);
  if (queue_notice(r->s, n)) return int_result(env, 0);
  free(n); /* unmounting: no cache left to drop, answer now */
  return int_result(env, fuse_reply_open(req, &fi));
}

static napi_value reply_write(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2);
  return int_result(env, fuse_reply_write(req, (size_t)num_arg(env, argv[1])));
}

/* (request, type, start, length, pid): the lock that conflicts (F_UNLCK: none). */
static napi_value reply_lock(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(5);
  struct flock lock;
  memset(&lock, 0, sizeof(lock));
  lock.l_type = (short)num_arg(env, argv[1]);
  lock.l_whence = SEEK_SET;
  lock.l_start = (off_t)num_arg(env, argv[2]);
  lock.l_len = (off_t)num_arg(env, argv[3]);
  lock.l_pid = (pid_t)num_arg(env, argv[4]);
  return int_result(env, fuse_reply_lock(req, &lock));
}

/* Data: one Buffer or an array of Buffers (sent with writev, no concatenation). */
static napi_value reply_data(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2);
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array) {
    void *p = NULL;
    size_t len = 0;
    if (napi_get_buffer_info(env, argv[1], &p, &len) != napi_ok) return int_result(env, fuse_reply_err(req, EIO));
    return int_result(env, fuse_reply_buf(req, p, len));
  }
  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  struct iovec stack_iov[16];
  struct iovec *iov = n <= 16 ? stack_iov : malloc(n * sizeof(struct iovec));
  if (iov == NULL) return int_result(env, fuse_reply_err(req, ENOMEM));
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, argv[1], i, &item);
    if (napi_get_buffer_info(env, item, &iov[i].iov_base, &iov[i].iov_len) != napi_ok) { iov[i].iov_base = NULL; iov[i].iov_len = 0; }
  }
  int rc = fuse_reply_iov(req, iov, (int)n);
  if (iov != stack_iov) free(iov);
  return int_result(env, rc);
}

static napi_value reply_readlink(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2);
  void *p = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, argv[1], &p, &len) != napi_ok) return int_result(env, fuse_reply_err(req, EIO));
  char *target = malloc(len + 1); /* libfuse wants a C string */
  if (target == NULL) return int_result(env, fuse_reply_err(req, ENOMEM));
  memcpy(target, p, len);
  target[len] = 0;
  int rc = fuse_reply_readlink(req, target);
  free(target);
  return int_result(env, rc);
}

static napi_value reply_statfs(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2);
  double *v = f64_arg(env, argv[1], 11);
  if (v == NULL) return int_result(env, fuse_reply_err(req, EIO));
  struct statvfs st = {
    .f_bsize = (unsigned long)v[0], .f_frsize = (unsigned long)v[1], .f_blocks = (fsblkcnt_t)v[2],
    .f_bfree = (fsblkcnt_t)v[3], .f_bavail = (fsblkcnt_t)v[4], .f_files = (fsfilcnt_t)v[5],
    .f_ffree = (fsfilcnt_t)v[6], .f_favail = (fsfilcnt_t)v[7], .f_fsid = (unsigned long)v[8],
    .f_flag = (unsigned long)v[9], .f_namemax = (unsigned long)v[10],
  };
  return int_result(env, fuse_reply_statfs(req, &st));
}

static napi_value reply_xattr_size(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2);
  return int_result(env, fuse_reply_xattr(req, (size_t)num_arg(env, argv[1])));
}

static napi_value reply_lseek(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(2);
  return int_result(env, fuse_reply_lseek(req, (off_t)num_arg(env, argv[1])));
}

/*
 * replyDirectory(req, size, plus, names[], dirents Float64Array) → entries packed (>= 0) or
 * -errno. Packs as many entries as fit in `size` bytes; readdirplus entries with a nodeid
 * each add one kernel lookup (the caller counts them from the returned number).
 */
static napi_value reply_directory(napi_env env, napi_callback_info info) {
  REPLY_PROLOGUE(5);
  size_t size = (size_t)num_arg(env, argv[1]);
  bool plus = num_arg(env, argv[2]) != 0;
  uint32_t n = 0;
  napi_get_array_length(env, argv[3], &n);
  if (n == 0) return int_result(env, fuse_reply_buf(req, NULL, 0)); /* the end of the directory */
  double *d = f64_arg(env, argv[4], (size_t)n * DIRENT_LEN);
  char *buf = malloc(size ? size : 1);
  if (d == NULL || buf == NULL) { free(buf); return int_result(env, fuse_reply_err(req, d == NULL ? EIO : ENOMEM)); }
  size_t used = 0;
  uint32_t packed = 0;
  char name[256];
  for (; packed < n; packed++) {
    napi_value item;
    void *p = NULL;
    size_t len = 0;
    napi_get_element(env, argv[3], packed, &item);
    if (napi_get_buffer_info(env, item, &p, &len) != napi_ok || len > 255) break;
    memcpy(name, p, len);
    name[len] = 0;
    const double *e = d + (size_t)packed * DIRENT_LEN;
    size_t need;
    if (plus) {
      struct fuse_entry_param ep;
      fill_entry(e + 1, &ep);
      need = fuse_add_direntry_plus(req, buf + used, size - used, name, &ep, (off_t)e[0]);
    } else {
      struct stat st;
      fill_stat(e + 5, &st);
      need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)e[0]);
    }
    if (need > size - used) break; /* did not fit: nothing was written for it */
    used += need;
  }
  int rc = fuse_reply_buf(req, buf, used);
  free(buf);
  return int_result(env, rc < 0 ? rc : (int)packed);
}

/* ---- session lifecycle */

static void str_array(napi_env env, napi_value arr, struct fuse_args *args) {
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    size_t len = 0;
    napi_get_element(env, arr, i, &item);
    napi_get_value_string_utf8(env, item, NULL, 0, &len);
    char *s = malloc(len + 1);
    napi_get_value_string_utf8(env, item, s, len + 1, &len);
    fuse_opt_add_arg(args, s);
    free(s);
  }
}

static unsigned get_uint(napi_env env, napi_value obj, const char *key, unsigned dflt) {
  napi_value v;
  bool has = false;
  napi_has_named_property(env, obj, key, &has);
  if (!has) return dflt;
  napi_get_named_property(env, obj, key, &v);
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number && t != napi_boolean) return dflt;
  if (t == napi_boolean) { bool b; napi_get_value_bool(env, v, &b); return b; }
  return (unsigned)num_arg(env, v);
}

static void session_external_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  session_unref(data);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  session_unref(data);
}

/*
 * mount(mountPoint, args[], config, dispatch) → session. `args` are libfuse arguments (argv[0]
 * first, then "-o", "opt,opt"); an unknown option fails here, before anything is mounted.
 */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t mlen = 0;
  napi_get_value_string_utf8(env, argv[0], NULL, 0, &mlen);
  char *mountpoint = malloc(mlen + 1);
  napi_get_value_string_utf8(env, argv[0], mountpoint, mlen + 1, &mlen);

  session *s = calloc(1, sizeof(session));
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->notify_cond, NULL);
  s->refs = 1; /* released when unmounted */
  s->max_write = get_uint(env, argv[2], "maxWrite", 1 << 20);
  s->max_readahead = get_uint(env, argv[2], "maxReadahead", 1 << 20);
  s->max_background = get_uint(env, argv[2], "maxBackground", 0);
  s->writeback = get_uint(env, argv[2], "writebackCache", 0) != 0;
  s->threads = get_uint(env, argv[2], "threads", 4);

  struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
  str_array(env, argv[1], &args);
  s->se = fuse_session_new(&args, &ll_ops, sizeof(ll_ops), s);
  fuse_opt_free_args(&args);
  if (s->se == NULL) {
    free(mountpoint);
    session_unref(s);
    napi_throw_error(env, "EINVAL", "libfuse refused the options (see the message above)");
    return NULL;
  }
  if (fuse_session_mount(s->se, mountpoint) != 0) {
    free(mountpoint);
    fuse_session_destroy(s->se);
    session_unref(s);
    napi_throw_error(env, "EMOUNT", "mounting failed (see the message above)");
    return NULL;
  }
  free(mountpoint);
  s->mounted = true;

  napi_value name;
  napi_create_string_utf8(env, "objectfs-fuse", NAPI_AUTO_LENGTH, &name);
  s->refs++; /* held by the thread-safe function until its finalizer */
  if (napi_create_threadsafe_function(env, argv[3], NULL, name, 0, 1, s, tsfn_finalize, s, deliver, &s->tsfn) != napi_ok) {
    s->refs--;
    fuse_session_unmount(s->se);
    fuse_session_destroy(s->se);
    session_unref(s);
    napi_throw_error(env, NULL, "cannot create the dispatch function");
    return NULL;
  }
  s->loop_config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(s->loop_config, 0);
  fuse_loop_cfg_set_max_threads(s->loop_config, s->threads);
  fuse_loop_cfg_set_idle_threads(s->loop_config, s->threads);
  pthread_create(&s->notify_thread, NULL, notify_main, s);
  pthread_create(&s->loop_thread, NULL, loop_main, s);

  napi_value ext;
  s->refs++; /* held by the External */
  napi_create_external(env, s, session_external_finalize, NULL, &ext);
  return ext;
}

static session *session_arg(napi_env env, napi_value v) {
  void *p = NULL;
  napi_get_value_external(env, v, &p);
  return p;
}

typedef struct {
  session *s;
  napi_deferred deferred;
  napi_async_work work;
} unmount_job;

/* Off the JavaScript thread: ends the loop (the kernel connection goes with the unmount). */
static void unmount_execute(napi_env env, void *data) {
  (void)env;
  unmount_job *job = data;
  session *s = job->s;
  fuse_session_exit(s->se);
  fuse_session_unmount(s->se);
  pthread_join(s->loop_thread, NULL);
  pthread_mutex_lock(&s->lock);
  s->mounted = false;
  s->stopping = true;
  pthread_cond_signal(&s->notify_cond);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->notify_thread, NULL);
}

static void unmount_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  unmount_job *job = data;
  session *s = job->s;
  /* Whatever is still unanswered gets EIO now: libfuse frees each request as it is answered. */
  for (;;) {
    pthread_mutex_lock(&s->lock);
    request *r = s->outstanding;
    pthread_mutex_unlock(&s->lock);
    if (r == NULL) break;
    fuse_req_t req = take(r);
    if (req != NULL) fuse_reply_err(req, EIO);
  }
  /* Requests queued but never delivered (the ENDED event included) are freed by the tsfn's
   * teardown call of deliver (env NULL) or now, if the dispatcher never ran. */
  pthread_mutex_lock(&s->lock);
  request *r = s->queue_head;
  s->queue_head = s->queue_tail = NULL;
  pthread_mutex_unlock(&s->lock);
  while (r) { request *next = r->next; request_free(r); session_unref(s); r = next; }
  napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
  fuse_session_destroy(s->se);
  s->se = NULL;
  fuse_loop_cfg_destroy(s->loop_config);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_resolve_deferred(env, job->deferred, undefined);
  napi_delete_async_work(env, job->work);
  session_unref(s); /* the job's */
  session_unref(s); /* the mount's */
  free(job);
}

/* unmount(session) → Promise: unmounts (if still mounted), stops the threads, answers what is left. */
static napi_value js_unmount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], promise, name;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session *s = session_arg(env, argv[0]);
  if (s == NULL || s->se == NULL) { napi_throw_error(env, NULL, "not a mounted session"); return NULL; }
  unmount_job *job = calloc(1, sizeof(unmount_job));
  job->s = s;
  pthread_mutex_lock(&s->lock);
  s->refs++;
  pthread_mutex_unlock(&s->lock);
  CHECK(env, napi_create_promise(env, &job->deferred, &promise));
  napi_create_string_utf8(env, "objectfs-unmount", NAPI_AUTO_LENGTH, &name);
  CHECK(env, napi_create_async_work(env, NULL, name, unmount_execute, unmount_complete, job, &job->work));
  CHECK(env, napi_queue_async_work(env, job->work));
  return promise;
}

static bool queue_notice(session *s, notice *n) {
  pthread_mutex_lock(&s->lock);
  if (s->stopping || !s->mounted) { pthread_mutex_unlock(&s->lock); return false; }
  if (s->notice_tail) s->notice_tail->next = n; else s->notice_head = n;
  s->notice_tail = n;
  s->notices_waiting++;
  pthread_cond_signal(&s->notify_cond);
  pthread_mutex_unlock(&s->lock);
  return true;
}

/* notify(session, kind, parent, child, name|null, off, len): queued for the notification thread. */
static napi_value js_notify(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session *s = session_arg(env, argv[0]);
  if (s == NULL || s->se == NULL) return NULL;
  void *p = NULL;
  size_t len = 0;
  napi_valuetype t;
  napi_typeof(env, argv[4], &t);
  if (t != napi_null && t != napi_undefined) napi_get_buffer_info(env, argv[4], &p, &len);
  notice *n = calloc(1, sizeof(notice) + len + 1);
  if (n == NULL) return NULL;
  n->kind = (int)num_arg(env, argv[1]);
  n->parent = (uint64_t)num_arg(env, argv[2]);
  n->child = (uint64_t)num_arg(env, argv[3]);
  if (len) memcpy(n->name, p, len);
  n->name_len = len;
  n->off = (int64_t)num_arg(env, argv[5]);
  n->len = (int64_t)num_arg(env, argv[6]);
  if (!queue_notice(s, n)) free(n); /* unmounting: nothing to invalidate */
  return NULL;
}

/* stats(session?) → { outstanding, noticesWaiting, noticesSent, live }: unanswered requests and
 * kernel notices of the session, request structs alive. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_create_object(env, &obj);
  if (argc >= 1) {
    session *s = session_arg(env, argv[0]);
    if (s != NULL) {
      pthread_mutex_lock(&s->lock);
      set_num(env, obj, "outstanding", (double)s->outstanding_count);
      set_num(env, obj, "noticesWaiting", (double)s->notices_waiting);
      set_num(env, obj, "noticesSent", (double)s->notices_sent);
      pthread_mutex_unlock(&s->lock);
    }
  }
  pthread_mutex_lock(&live_lock);
  set_num(env, obj, "live", (double)live_requests);
  pthread_mutex_unlock(&live_lock);
  return obj;
}

/* tuneAllocator(mmapThreshold, trimThreshold) → whether glibc took both. The daemon allocates and
 * frees block buffers (4 MiB) all the time. Above glibc's mmap threshold each one is a fresh
 * mmap whose every page faults in, and below it the heap's free top is handed back to the
 * kernel past the trim threshold: in a VM those faults were a quarter of a cold read's main
 * thread. Raising both keeps the pages for the next block (decision 93). */
static napi_value js_tune_allocator(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "tuneAllocator(mmapThreshold, trimThreshold)");
    return NULL;
  }
  int took = mallopt(M_MMAP_THRESHOLD, (int)num_arg(env, argv[0])) == 1;
  took = (mallopt(M_TRIM_THRESHOLD, (int)num_arg(env, argv[1])) == 1) && took;
  napi_get_boolean(env, took, &result);
  return result;
}

/* The exports are ordinary writable properties (not napi_default's read-only ones) so that a
 * diagnostic preload (bench/support/daemon-probe.ts) can wrap them without touching src/. */
#define EXPORT(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_jsproperty, NULL}

static napi_value init_module(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    EXPORT("mount", js_mount),
    EXPORT("unmount", js_unmount),
    EXPORT("notify", js_notify),
    EXPORT("stats", js_stats),
    EXPORT("tuneAllocator", js_tune_allocator),
    EXPORT("replyErr", reply_err),
    EXPORT("replyErrAfterInval", reply_err_after_inval),
    EXPORT("replyOpenAfterInval", reply_open_after_inval),
    EXPORT("replyEntry", reply_entry),
    EXPORT("replyCreate", reply_create),
    EXPORT("replyAttr", reply_attr),
    EXPORT("replyOpen", reply_open),
    EXPORT("replyWrite", reply_write),
    EXPORT("replyData", reply_data),
    EXPORT("replyReadlink", reply_readlink),
    EXPORT("replyStatfs", reply_statfs),
    EXPORT("replyXattrSize", reply_xattr_size),
    EXPORT("replyLseek", reply_lseek),
    EXPORT("replyLock", reply_lock),
    EXPORT("replyDirectory", reply_directory),
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init_module)
