/*
 * Native pass-through for the issue-15 experiment (bench/README.md "Native data path"): moves
 * bytes between two connected TCP sockets with no JavaScript on the data path. It measures the
 * FLOOR of forwarding natively, not a pooler: no message framing, no pooling, one client socket
 * to one server socket for the connection's lifetime.
 *
 * JS hands over two descriptors with attach(clientFd, serverFd, engine). The addon dup(2)s them
 * (the caller then destroys its net.Sockets: libuv's uv_close removes the original descriptor
 * from Node's epoll set before closing it, and the open file description lives on in the dup).
 * Two engines share the forwarding code:
 *   "thread" - one native thread with its own level-triggered epoll set (epoll(7)): the floor of
 *              a C forwarder, comparable to PgBouncer's libevent loop minus the pooling;
 *   "uv"     - uv_poll handles on Node's own event loop (napi_get_uv_event_loop): what a native
 *              data path inside the pooler process would cost, libuv included, JS excluded.
 *              Built only when uv.h is found (HAVE_UV).
 * Per direction one fixed buffer (BUF_SIZE); a partial write parks the rest and stops reading
 * that direction's source until the destination is writable again (backpressure, bounded
 * memory). EOF or an error on either side closes both.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef HAVE_UV
#include <uv.h>
#endif

#define BUF_SIZE 16384

typedef struct pair pair_t;

/* One side of a pair: fd[k]; direction k moves bytes read from fd[k] to fd[1 - k]. */
typedef struct {
  pair_t *pair;
  int side;
} endpoint_t;

struct pair {
  int fd[2];
  endpoint_t ep[2];
  int engine; /* 0 thread, 1 uv */
  int closed;
  unsigned interest[2]; /* last interest set per fd: bit 1 readable, bit 2 writable */
  size_t off[2], len[2]; /* parked bytes of direction k: buf[k][off .. off + len) */
  pair_t *next_dead;
#ifdef HAVE_UV
  uv_poll_t poll[2];
  int handles_open;
#endif
  char buf[2][BUF_SIZE];
};

static atomic_int open_pairs;
static atomic_ullong bytes_forwarded;

/* ---- engine-specific interest updates and teardown ---- */

static int epfd = -1;
static pthread_t thread;
static pthread_mutex_t thread_lock = PTHREAD_MUTEX_INITIALIZER;

#define WANT_READ 1u
#define WANT_WRITE 2u

static void set_interest_thread(pair_t *p, int k, unsigned want) {
  struct epoll_event ev = {0};
  ev.events = (want & WANT_READ ? EPOLLIN : 0) | (want & WANT_WRITE ? EPOLLOUT : 0);
  ev.data.ptr = &p->ep[k];
  epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd[k], &ev);
}

#ifdef HAVE_UV
static void on_poll(uv_poll_t *h, int status, int events);

static void set_interest_uv(pair_t *p, int k, unsigned want) {
  int ev = (want & WANT_READ ? UV_READABLE : 0) | (want & WANT_WRITE ? UV_WRITABLE : 0);
  if (ev == 0)
    uv_poll_stop(&p->poll[k]);
  else
    uv_poll_start(&p->poll[k], ev, on_poll);
}

static void on_handle_closed(uv_handle_t *h) {
  pair_t *p = h->data;
  if (--p->handles_open == 0) {
    close(p->fd[0]);
    close(p->fd[1]);
    free(p);
  }
}
#endif

static void update_interest(pair_t *p, int k) {
  unsigned want = (p->len[k] == 0 ? WANT_READ : 0) | (p->len[1 - k] > 0 ? WANT_WRITE : 0);
  if (want == p->interest[k]) return;
  p->interest[k] = want;
#ifdef HAVE_UV
  if (p->engine == 1) {
    set_interest_uv(p, k, want);
    return;
  }
#endif
  set_interest_thread(p, k, want);
}

/* Thread engine: freed at the end of the epoll batch, which may still hold events for it. */
static pair_t *dead_list;

static void close_pair(pair_t *p) {
  if (p->closed) return;
  p->closed = 1;
  atomic_fetch_sub(&open_pairs, 1);
#ifdef HAVE_UV
  if (p->engine == 1) {
    p->handles_open = 2;
    uv_close((uv_handle_t *)&p->poll[0], on_handle_closed);
    uv_close((uv_handle_t *)&p->poll[1], on_handle_closed);
    return;
  }
#endif
  epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd[0], NULL);
  epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd[1], NULL);
  close(p->fd[0]);
  close(p->fd[1]);
  p->next_dead = dead_list;
  dead_list = p;
}

/* ---- the forwarding core, shared by both engines ---- */

/* Write parked bytes of direction k to fd[1 - k]; 0 = all gone or parked, -1 = connection dead. */
static int flush(pair_t *p, int k) {
  while (p->len[k] > 0) {
    ssize_t n = write(p->fd[1 - k], p->buf[k] + p->off[k], p->len[k]);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -1;
    }
    atomic_fetch_add_explicit(&bytes_forwarded, (unsigned long long)n, memory_order_relaxed);
    p->off[k] += (size_t)n;
    p->len[k] -= (size_t)n;
  }
  p->off[k] = 0;
  return 0;
}

/* fd[k] is readable: one read (like PgBouncer's one recv per wake-up), then write it on. */
static int pump(pair_t *p, int k) {
  ssize_t n;
  do n = read(p->fd[k], p->buf[k], BUF_SIZE);
  while (n < 0 && errno == EINTR);
  if (n == 0) return -1;
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  p->off[k] = 0;
  p->len[k] = (size_t)n;
  return flush(p, k);
}

static void on_events(pair_t *p, int k, int readable, int writable, int failed) {
  if (p->closed) return;
  if (writable && flush(p, 1 - k) < 0) failed = 1;
  if (!failed && readable && p->len[k] == 0 && pump(p, k) < 0) failed = 1;
  if (failed) {
    close_pair(p);
    return;
  }
  update_interest(p, k);
  update_interest(p, 1 - k);
}

static void *thread_main(void *arg) {
  (void)arg;
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epfd, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      endpoint_t *ep = events[i].data.ptr;
      unsigned e = events[i].events;
      /* EPOLLHUP/EPOLLERR: let read/write see the EOF or error itself. */
      on_events(ep->pair, ep->side, (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0, (e & EPOLLOUT) != 0, 0);
    }
    while (dead_list) {
      pair_t *d = dead_list;
      dead_list = d->next_dead;
      free(d);
    }
  }
}

#ifdef HAVE_UV
static void on_poll(uv_poll_t *h, int status, int events) {
  pair_t *p = h->data;
  int k = h == &p->poll[0] ? 0 : 1;
  on_events(p, k, (events & (UV_READABLE | UV_DISCONNECT)) != 0, (events & UV_WRITABLE) != 0, status < 0);
}
#endif

/* ---- N-API surface ---- */

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int prepare_fd(int fd) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return -1;
  int flags = fcntl(d, F_GETFL);
  int one = 1;
  if (flags < 0 || fcntl(d, F_SETFL, flags | O_NONBLOCK) < 0) {
    close(d);
    return -1;
  }
  /* Same as the pooler's sockets (noDelay: true): no Nagle delay on the small answers. */
  setsockopt(d, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return d;
}

/* attach(clientFd, serverFd, engine: "thread" | "uv"): the caller must close its own descriptors. */
static napi_value attach(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fds[2];
  char engine[16] = "thread";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return throw_error(env, "attach(clientFd, serverFd, engine)");
  if (napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok || napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok)
    return throw_error(env, "attach: descriptors must be integers");
  if (argc >= 3) {
    size_t len;
    if (napi_get_value_string_utf8(env, argv[2], engine, sizeof engine, &len) != napi_ok) return throw_error(env, "attach: engine must be a string");
  }
  int use_uv = strcmp(engine, "uv") == 0;
#ifndef HAVE_UV
  if (use_uv) return throw_error(env, "attach: built without uv.h, engine \"uv\" unavailable");
#endif
  if (!use_uv && strcmp(engine, "thread") != 0) return throw_error(env, "attach: engine must be \"thread\" or \"uv\"");

  if (!use_uv) {
    pthread_mutex_lock(&thread_lock);
    if (epfd < 0) {
      epfd = epoll_create1(EPOLL_CLOEXEC);
      if (epfd >= 0 && pthread_create(&thread, NULL, thread_main, NULL) != 0) {
        close(epfd);
        epfd = -1;
      } else if (epfd >= 0) {
        pthread_detach(thread);
      }
    }
    pthread_mutex_unlock(&thread_lock);
    if (epfd < 0) return throw_error(env, "attach: could not start the forwarding thread");
  }

  pair_t *p = calloc(1, sizeof *p);
  if (!p) return throw_error(env, "attach: out of memory");
  p->engine = use_uv;
  for (int k = 0; k < 2; k++) {
    p->ep[k].pair = p;
    p->ep[k].side = k;
    p->interest[k] = WANT_READ;
    p->fd[k] = prepare_fd(fds[k]);
  }
  if (p->fd[0] < 0 || p->fd[1] < 0) {
    if (p->fd[0] >= 0) close(p->fd[0]);
    if (p->fd[1] >= 0) close(p->fd[1]);
    free(p);
    return throw_error(env, "attach: could not duplicate the descriptors");
  }
  atomic_fetch_add(&open_pairs, 1);
#ifdef HAVE_UV
  if (use_uv) {
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(env, (struct uv_loop_s **)&loop) != napi_ok) return throw_error(env, "attach: no event loop");
    for (int k = 0; k < 2; k++) {
      uv_poll_init_socket(loop, &p->poll[k], p->fd[k]);
      p->poll[k].data = p;
      uv_poll_start(&p->poll[k], UV_READABLE, on_poll);
    }
    return NULL;
  }
#endif
  for (int k = 0; k < 2; k++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->ep[k]};
    epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd[k], &ev);
  }
  return NULL;
}

/* stats(): { pairs, bytes, uv } — open pairs, bytes written so far, whether "uv" is built in. */
static napi_value stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, v;
  napi_create_object(env, &o);
  napi_create_int32(env, atomic_load(&open_pairs), &v);
  napi_set_named_property(env, o, "pairs", v);
  napi_create_double(env, (double)atomic_load(&bytes_forwarded), &v);
  napi_set_named_property(env, o, "bytes", v);
#ifdef HAVE_UV
  napi_get_boolean(env, 1, &v);
#else
  napi_get_boolean(env, 0, &v);
#endif
  napi_set_named_property(env, o, "uv", v);
  return o;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "attach", NAPI_AUTO_LENGTH, attach, NULL, &fn);
  napi_set_named_property(env, exports, "attach", fn);
  napi_create_function(env, "stats", NAPI_AUTO_LENGTH, stats, NULL, &fn);
  napi_set_named_property(env, exports, "stats", fn);
  return exports;
}
