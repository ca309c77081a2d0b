/*
 * A bare WebSocket client in C: the benchmark's yardstick (bench/run.py), the least work
 * a client has to do to pipe lines through an echo server.
 *
 *   cc -O2 -pthread -o bench/out/c-client bench/c-client.c
 *   cat lines.txt | bench/out/c-client [--close-at-eof] ws://127.0.0.1:PORT/
 *
 * What `wsdbg -o payload URL` does with a pipe on stdin, and nothing more: connects to
 * ws://HOST[:PORT][/PATH] (no TLS, no proxy, no extensions), does the opening handshake
 * (a random Sec-WebSocket-Key; the answer must be 101 with the matching
 * Sec-WebSocket-Accept), then runs two threads:
 *
 * - the writer reads stdin (256 KiB reads; the buffer grows when one line is longer) and
 *   sends each line, without its newline, as one text message in one frame, masked with
 *   a fresh random key as RFC 6455 requires of a client (xorshift64* seeded from
 *   getrandom(): unpredictable enough for a benchmark, not a CSPRNG). Frames are
 *   assembled in a 256 KiB buffer, written when full or when stdin has nothing more
 *   to give at that moment. A 16 MiB line is the same path: one frame, masked into the
 *   buffer 256 KiB at a time.
 * - the reader parses frame headers (no UTF-8 validation, no size limit: payloads are
 *   streamed), writes each text or binary message's payload and a newline to stdout
 *   through a 256 KiB buffer (written when full, or when the socket has nothing more to
 *   read at that moment), answers a ping with a pong and a close with a close, and puts
 *   fragmented messages together (continuation frames, control frames between them).
 *
 * At the end of stdin the writer waits until as many messages came back as it sent (or
 * the server closed, or nothing arrived for 5 s), then sends a close (1000) and waits
 * for the server's close reply (giving up when nothing arrives for 5 s); the process
 * exits as soon as that reply is in. When the server closes first, its close is answered
 * with its code and the client reads until the server ends the TCP connection (1 s at
 * most).
 *
 * With --close-at-eof (what bench/run.py uses) the close goes at the end of stdin right
 * away, as websocat does (wsdbg lingers: it closes once every message had a reply and
 * 10 ms passed quietly, or after 1 s of quiet with replies owed): the benchmark's servers
 * echo everything before their close reply (run.py checks every byte). This matters for websocat 1.14's mirror: while
 * a client sends nothing, waiting for the rest of a long echo, the mirror can stall in the
 * middle of the 16 MiB message (a lost wake-up there: any frame from the client, a ping
 * or the close, gets it going again; the waiting mode then takes 5-10 s). Some servers
 * answer a close at once and drop the echoes still queued (Python websockets' does):
 * against those only the waiting mode gets every echo.
 *
 * Exit status 0 after a clean closing handshake (code 1000 or none, either side first)
 * with, when stdin ended, as many messages received as sent; 1 when echoes are missing,
 * the server closed with another code or the connection broke; 2 for a usage, connect or
 * handshake error.
 *
 * Control frames from the reader (pong, close reply) go on the socket only between two of
 * the writer's frames: the reader never blocks on the writer's lock (trylock), it leaves
 * them pending and whoever next holds the lock at a frame boundary sends them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUF (256 * 1024)

static int sock = -1;

static void die(const char *what) {
    fprintf(stderr, "c-client: %s\n", what);
    exit(2);
}

static void die_errno(const char *what) {
    fprintf(stderr, "c-client: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* 0, or -1 with errno set (EPIPE, ECONNRESET, ...). */
static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The same on the socket, without blocking inside send(): a blocking send of 256 KiB to
 * a slow reader sleeps and wakes in the kernel each time a little room frees up (tens of
 * thousands of context switches per run against Node ws); poll() waits for the socket
 * to be writable, then send() takes what fits. */
static int send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                if (poll(&pf, 1, -1) < 0 && errno != EINTR)
                    return -1;
                continue;
            }
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ------------------------------------------------------------ random masks */

/* Two xorshift64* states: data frames' keys (the writer thread alone) and control
 * frames' (whoever holds the write lock). */
static uint64_t data_rng, ctl_rng;

static void rng_seed(void) {
    uint64_t s[2];
    if (getrandom(s, sizeof s, 0) != sizeof s)
        die_errno("getrandom");
    data_rng = s[0] | 1;
    ctl_rng = s[1] | 1;
}

static uint32_t rng32(uint64_t *st) {
    uint64_t x = *st;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *st = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* dst[i] = src[i] ^ key[(off + i) % 4], eight bytes at a time. */
static void mask_copy(unsigned char *dst, const unsigned char *src, size_t n,
                      const unsigned char key[4], size_t off) {
    unsigned char k8[8];
    for (int j = 0; j < 8; j++)
        k8[j] = key[(off + (size_t)j) & 3];
    uint64_t m;
    memcpy(&m, k8, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= m;
        memcpy(dst + i, &v, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ k8[i & 7];
}

/* ------------------------------------------------------------ SHA-1, base64 (handshake) */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    unsigned char *m = calloc(total, 1);
    if (!m)
        die("out of memory");
    memcpy(m, msg, len);
    m[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        m[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
                   (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6; }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol(b, 30); b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    free(m);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

static void base64(const unsigned char *in, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
}

/* ------------------------------------------------------------ shared state */

/* The socket's write side: the writer thread holds it while it writes; `mid_frame` says
 * the bytes on the socket so far end inside one of its frames (no control frame may go
 * in then). */
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static int mid_frame;   /* under wlock */
static int close_sent;  /* under wlock */
static _Atomic int we_closed; /* our close went out before the server's came in */

/* Control frames the reader wants sent (the latest ping's pong, a close reply). */
static pthread_mutex_t plock = PTHREAD_MUTEX_INITIALIZER;
static int pend_pong, pend_close; /* under plock */
static unsigned char pong_data[125], close_data[125];
static size_t pong_len, close_len;

/* The writer's wait at the end of stdin, and for the close reply. */
static pthread_mutex_t slock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t scond = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t received;            /* messages the reader has written out */
static _Atomic uint64_t target = UINT64_MAX; /* messages sent, once stdin has ended */
static _Atomic int peer_closed;              /* the reader saw a close frame or EOF */
static int reader_done;                      /* under slock */
static _Atomic uint64_t rx_bytes;            /* bytes read from the socket */
static int close_at_eof;                     /* --close-at-eof */

/* How it ended: the server's close code (1005: none given; -1: no close frame). */
static int peer_code = -1;

static void wake_writer(void) {
    pthread_mutex_lock(&slock);
    pthread_cond_broadcast(&scond);
    pthread_mutex_unlock(&slock);
}

/* One masked control frame, written under wlock (caller holds it). */
static void send_control(int opcode, const unsigned char *data, size_t len) {
    unsigned char f[2 + 4 + 125];
    unsigned char key[4];
    uint32_t k = rng32(&ctl_rng);
    memcpy(key, &k, 4);
    f[0] = (unsigned char)(0x80 | opcode);
    f[1] = (unsigned char)(0x80 | len);
    memcpy(f + 2, key, 4);
    mask_copy(f + 6, data, len, key, 0);
    (void)send_all(sock, f, 6 + len); /* if the connection broke, the reader sees it too */
}

/* Send the pending control frames if the socket is free and at a frame boundary. Called
 * by the reader after queueing one, and by the writer each time it lets go of wlock:
 * whoever holds wlock when one is queued sends it after releasing. */
static void flush_pending(void) {
    for (;;) {
        pthread_mutex_lock(&plock);
        int have = pend_pong || pend_close;
        pthread_mutex_unlock(&plock);
        if (!have || pthread_mutex_trylock(&wlock) != 0)
            return;
        if (mid_frame) {
            pthread_mutex_unlock(&wlock);
            return;
        }
        unsigned char pd[125], cd[125];
        size_t pl = 0, cl = 0;
        int p, c;
        pthread_mutex_lock(&plock);
        p = pend_pong;
        c = pend_close;
        pend_pong = pend_close = 0;
        if (p)
            memcpy(pd, pong_data, pl = pong_len);
        if (c)
            memcpy(cd, close_data, cl = close_len);
        pthread_mutex_unlock(&plock);
        if (!close_sent) {
            if (p)
                send_control(0xA, pd, pl);
            if (c) {
                send_control(0x8, cd, cl);
                close_sent = 1;
            }
        }
        pthread_mutex_unlock(&wlock);
    }
}

/* ------------------------------------------------------------ writer */

static unsigned char obuf[BUF];
static size_t olen;
static int send_failed;

/* Write obuf to the socket; `inside` when it ends inside a frame. 0, or -1 when the
 * connection is gone or a close was already sent (nothing more may go out). */
static int wflush(int inside) {
    int r = 0;
    pthread_mutex_lock(&wlock);
    if (close_sent)
        r = -1;
    else if (olen && send_all(sock, obuf, olen) < 0)
        r = -1;
    mid_frame = r == 0 && inside;
    pthread_mutex_unlock(&wlock);
    olen = 0;
    if (r < 0)
        send_failed = 1;
    else if (!inside)
        flush_pending();
    return r;
}

/* One text message in one frame, masked. */
static int send_message(const unsigned char *p, size_t n) {
    if (BUF - olen < 14 && wflush(0) < 0)
        return -1;
    unsigned char *h = obuf + olen;
    h[0] = 0x81;
    size_t hl;
    if (n < 126) {
        h[1] = (unsigned char)(0x80 | n);
        hl = 2;
    } else if (n < 65536) {
        h[1] = 0x80 | 126;
        h[2] = (unsigned char)(n >> 8);
        h[3] = (unsigned char)n;
        hl = 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    unsigned char key[4];
    uint32_t k = rng32(&data_rng);
    memcpy(key, &k, 4);
    memcpy(h + hl, key, 4);
    olen += hl + 4;
    size_t off = 0;
    while (off < n) {
        size_t room = BUF - olen;
        if (room == 0) {
            if (wflush(1) < 0)
                return -1;
            room = BUF;
        }
        size_t c = n - off < room ? n - off : room;
        mask_copy(obuf + olen, p + off, c, key, off);
        olen += c;
        off += c;
    }
    return 0;
}

static int stdin_ready(void) {
    struct pollfd pf = {.fd = 0, .events = POLLIN};
    return poll(&pf, 1, 0) > 0;
}

static void *writer(void *arg) {
    (void)arg;
    size_t cap = BUF, start = 0, scan = 0, end = 0;
    unsigned char *in = malloc(cap);
    if (!in)
        die("out of memory");
    uint64_t sent = 0;
    int eof = 0;
    while (!eof && !atomic_load(&peer_closed) && !send_failed) {
        unsigned char *nl;
        while ((nl = memchr(in + scan, '\n', end - scan))) {
            size_t e = (size_t)(nl - in);
            if (send_message(in + start, e - start) < 0)
                goto done;
            sent++;
            start = scan = e + 1;
        }
        scan = end;
        if (start == end) {
            start = scan = end = 0;
        } else if (cap - end < BUF / 4) {
            if (start > 0) {
                memmove(in, in + start, end - start);
                end -= start;
                scan -= start;
                start = 0;
            }
            if (cap - end < BUF / 4) { /* one line longer than the buffer: grow it */
                cap *= 2;
                in = realloc(in, cap);
                if (!in)
                    die("out of memory");
            }
        }
        if (olen && !stdin_ready() && wflush(0) < 0)
            break;
        ssize_t r = read(0, in + end, cap - end);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die_errno("reading stdin");
        }
        if (r == 0)
            eof = 1;
        end += (size_t)r;
    }
    if (eof && start < end && send_message(in + start, end - start) == 0) /* no final newline */
        sent++;
done:
    free(in);
    if (olen)
        wflush(0);

    /* Every echo back (or the server closed), then our close; with --close-at-eof the
     * close goes right away and the echoes still come before the server's reply. */
    pthread_mutex_lock(&slock);
    atomic_store(&target, sent);
    uint64_t seen = atomic_load(&rx_bytes);
    while (!close_at_eof && atomic_load(&received) < sent && !atomic_load(&peer_closed) && !send_failed) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        if (pthread_cond_timedwait(&scond, &slock, &until) == ETIMEDOUT) {
            uint64_t now = atomic_load(&rx_bytes);
            if (now == seen) {
                fprintf(stderr, "c-client: %llu of %llu echoes, then nothing for 5 s: closing\n",
                        (unsigned long long)atomic_load(&received), (unsigned long long)sent);
                break;
            }
            seen = now;
        }
    }
    pthread_mutex_unlock(&slock);
    pthread_mutex_lock(&wlock);
    if (!close_sent && !mid_frame) {
        static const unsigned char normal[2] = {0x03, 0xE8}; /* 1000 */
        send_control(0x8, normal, 2);
        close_sent = 1;
        atomic_store(&we_closed, 1);
    }
    pthread_mutex_unlock(&wlock);
    flush_pending(); /* a close reply the reader queued, if the server closed first */

    /* The server's close reply; the reader is cut off when nothing at all arrived for
     * 5 s (with --close-at-eof the echoes come first, however long they take). */
    pthread_mutex_lock(&slock);
    seen = atomic_load(&rx_bytes);
    int done_ok;
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        while (!reader_done)
            if (pthread_cond_timedwait(&scond, &slock, &until) == ETIMEDOUT)
                break;
        done_ok = reader_done;
        uint64_t now = atomic_load(&rx_bytes);
        if (done_ok || now == seen)
            break;
        seen = now;
    }
    pthread_mutex_unlock(&slock);
    if (!done_ok) {
        fprintf(stderr, "c-client: no close reply (nothing received for 5 s)\n");
        shutdown(sock, SHUT_RDWR);
    }
    return NULL;
}

/* ------------------------------------------------------------ reader */

static unsigned char rbuf[BUF];
static size_t rlen; /* handshake leftovers go here first */
static unsigned char outb[BUF];
static size_t outl;

static void out_flush(void) {
    if (outl && write_all(1, outb, outl) < 0)
        die_errno("writing stdout");
    outl = 0;
}

static void out_put(const unsigned char *p, size_t n) {
    while (n > 0) {
        if (outl == BUF)
            out_flush();
        size_t c = BUF - outl < n ? BUF - outl : n;
        memcpy(outb + outl, p, c);
        outl += c;
        p += c;
        n -= c;
    }
}

static void protocol_error(const char *what) {
    fprintf(stderr, "c-client: protocol error from the server: %s\n", what);
    out_flush();
    exit(1);
}

static void *reader(void *arg) {
    (void)arg;
    size_t pos = 0;
    int in_payload = 0, is_control = 0, fin = 0, opcode = 0, in_message = 0;
    uint64_t left = 0, count = 0;
    unsigned char ctl[125];
    size_t ctl_len = 0;
    for (;;) {
        /* Parse what is in rbuf[pos..rlen). */
        for (;;) {
            size_t avail = rlen - pos;
            if (!in_payload) {
                if (avail < 2)
                    break;
                unsigned char b0 = rbuf[pos], b1 = rbuf[pos + 1];
                size_t need = 2 + ((b1 & 127) == 126 ? 2 : (b1 & 127) == 127 ? 8 : 0);
                if (b1 & 0x80)
                    protocol_error("a masked frame");
                if (avail < need)
                    break;
                uint64_t len = b1 & 127;
                if (len == 126)
                    len = (uint64_t)rbuf[pos + 2] << 8 | rbuf[pos + 3];
                else if (len == 127) {
                    len = 0;
                    for (int i = 0; i < 8; i++)
                        len = len << 8 | rbuf[pos + 2 + i];
                }
                pos += need;
                fin = b0 >> 7;
                opcode = b0 & 15;
                if (b0 & 0x70)
                    protocol_error("RSV bits set");
                is_control = opcode >= 8;
                if (is_control) {
                    if (len > 125 || !fin)
                        protocol_error("a control frame over 125 bytes or fragmented");
                    ctl_len = 0;
                } else if (opcode == 0 ? !in_message : in_message) {
                    protocol_error(in_message ? "a new message inside a fragmented one"
                                              : "a continuation frame outside a message");
                } else if (opcode != 0 && opcode != 1 && opcode != 2) {
                    protocol_error("a reserved opcode");
                } else {
                    in_message = 1;
                }
                left = len;
                in_payload = 1;
                if (left > 0)
                    continue;
            } else {
                size_t n = avail < left ? avail : (size_t)left;
                if (is_control) {
                    memcpy(ctl + ctl_len, rbuf + pos, n);
                    ctl_len += n;
                } else {
                    out_put(rbuf + pos, n);
                }
                pos += n;
                left -= n;
                if (left > 0)
                    break;
            }
            /* A whole frame's payload is in. */
            in_payload = 0;
            if (!is_control) {
                if (fin) {
                    if (outl == BUF)
                        out_flush();
                    outb[outl++] = '\n';
                    count++;
                    in_message = 0;
                }
            } else if (opcode == 0x9) { /* ping: the pong carries its payload */
                pthread_mutex_lock(&plock);
                memcpy(pong_data, ctl, pong_len = ctl_len);
                pend_pong = 1;
                pthread_mutex_unlock(&plock);
                flush_pending();
            } else if (opcode == 0x8) { /* close: reply with its code, then we are done */
                peer_code = ctl_len >= 2 ? (ctl[0] << 8 | ctl[1]) : 1005;
                pthread_mutex_lock(&plock);
                memcpy(close_data, ctl, close_len = ctl_len >= 2 ? 2 : 0);
                pend_close = 1;
                pthread_mutex_unlock(&plock);
                flush_pending();
                if (atomic_load(&we_closed))
                    goto end; /* the reply to our close: done */
                goto drain;
            } /* pong: nothing to do */
        }
        if (count != atomic_load_explicit(&received, memory_order_relaxed)) {
            atomic_store(&received, count);
            if (count >= atomic_load(&target))
                wake_writer();
        }
        /* Keep a partial header; payload bytes were all consumed. */
        if (pos == rlen) {
            pos = rlen = 0;
        } else if (pos > 0) {
            memmove(rbuf, rbuf + pos, rlen - pos);
            rlen -= pos;
            pos = 0;
        }
        ssize_t r = recv(sock, rbuf + rlen, BUF - rlen, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            out_flush(); /* nothing more to read now: let stdout have it */
            r = recv(sock, rbuf + rlen, BUF - rlen, 0);
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0)
                fprintf(stderr, "c-client: reading the socket: %s\n", strerror(errno));
            break; /* EOF without a close frame (or cut off) */
        }
        rlen += (size_t)r;
        atomic_fetch_add_explicit(&rx_bytes, (uint64_t)r, memory_order_relaxed);
    }
    goto end;
drain:
    /* The server closed first: let it end the TCP connection (RFC 6455 7.1.1), reading
     * and dropping whatever still comes, for at most 1 s. (After the reply to our own
     * close we do not wait: that is the end of every benchmark run.) */
    {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            long ms = 1000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
            struct pollfd pf = {.fd = sock, .events = POLLIN};
            if (ms <= 0 || poll(&pf, 1, (int)ms) <= 0 || recv(sock, rbuf, BUF, 0) <= 0)
                break;
        }
    }
end:
    atomic_store(&received, count);
    out_flush();
    atomic_store(&peer_closed, 1);
    pthread_mutex_lock(&slock);
    reader_done = 1;
    pthread_cond_broadcast(&scond);
    pthread_mutex_unlock(&slock);
    return NULL;
}

/* ------------------------------------------------------------ connect, handshake */

static void handshake(const char *host, const char *port, const char *path) {
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != sizeof raw)
        die_errno("getrandom");
    char key[25], expect[29];
    base64(raw, sizeof raw, key);
    char cat[64];
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char dig[20];
    sha1((unsigned char *)cat, strlen(cat), dig);
    base64(dig, 20, expect);

    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, host, strcmp(port, "80") ? ":" : "", strcmp(port, "80") ? port : "", key);
    if (n <= 0 || (size_t)n >= sizeof req)
        die("URL too long");
    if (write_all(sock, req, (size_t)n) < 0)
        die_errno("sending the upgrade request");

    /* The answer's head; whatever follows it is the first frames. */
    char *head = (char *)rbuf, *endh = NULL;
    size_t got = 0;
    while (!endh) {
        if (got == BUF - 1)
            die("handshake: answer head too long");
        ssize_t r = recv(sock, rbuf + got, BUF - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die_errno("handshake: reading the answer");
        if (r == 0)
            die("handshake: the server closed the connection");
        got += (size_t)r;
        rbuf[got] = 0;
        endh = strstr(head, "\r\n\r\n");
    }
    size_t hlen = (size_t)(endh - head) + 4;
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(head, "\r\n");
        fprintf(stderr, "c-client: handshake refused: %.*s\n", (int)(eol - head), head);
        exit(2);
    }
    int accepted = 0;
    for (char *line = strstr(head, "\r\n") + 2; line < endh; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Sec-WebSocket-Accept:", 21) == 0) {
            char *v = line + 21;
            while (*v == ' ' || *v == '\t')
                v++;
            accepted = strncmp(v, expect, 28) == 0;
        }
    }
    if (!accepted)
        die("handshake: Sec-WebSocket-Accept missing or wrong");
    memmove(rbuf, rbuf + hlen, got - hlen);
    rlen = got - hlen;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--close-at-eof") == 0) {
        close_at_eof = 1;
        argv++;
        argc--;
    }
    if (argc != 2 || strncmp(argv[1], "ws://", 5) != 0) {
        fprintf(stderr, "usage: c-client [--close-at-eof] ws://HOST[:PORT][/PATH] < lines\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    rng_seed();

    char host[256], port[16] = "80";
    const char *auth = argv[1] + 5, *slash = strchr(auth, '/');
    const char *path = slash ? slash : "/";
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    if (alen == 0 || alen >= sizeof host)
        die("bad URL");
    memcpy(host, auth, alen);
    host[alen] = 0;
    char *colon = strrchr(host, ':');
    char *hostname = host;
    if (host[0] == '[') { /* [v6]:port */
        char *rb = strchr(host, ']');
        if (!rb)
            die("bad URL");
        *rb = 0;
        hostname = host + 1;
        colon = rb[1] == ':' ? rb + 1 : NULL;
    }
    if (colon) {
        *colon = 0;
        snprintf(port, sizeof port, "%s", colon + 1);
    }

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai, *a;
    int e = getaddrinfo(hostname, port, &hints, &ai);
    if (e)
        die(gai_strerror(e));
    for (a = ai; a; a = a->ai_next) {
        sock = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (sock < 0)
            continue;
        if (connect(sock, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(sock);
        sock = -1;
    }
    freeaddrinfo(ai);
    if (sock < 0)
        die_errno("connect");
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    /* The Host header wants the bracketed form back for v6. */
    char hosthdr[260];
    snprintf(hosthdr, sizeof hosthdr, hostname != host ? "[%s]" : "%s", hostname);
    handshake(hosthdr, port, path);

    pthread_t w, r;
    if (pthread_create(&r, NULL, reader, NULL) || pthread_create(&w, NULL, writer, NULL))
        die("pthread_create");
    /* The reader ends with the connection. Then the writer has sent our close and is
     * about to return, or the server closed first and the writer may still be waiting
     * on stdin: it gets 5 s when the close reply is still its to send (it was in the
     * middle of a frame), else 50 ms. */
    pthread_join(r, NULL);
    pthread_mutex_lock(&plock);
    int pending = pend_close;
    pthread_mutex_unlock(&plock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += pending ? 0 : 50 * 1000 * 1000;
    until.tv_sec += pending ? 5 : until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    if (pthread_timedjoin_np(w, NULL, &until) != 0)
        pthread_detach(w);
    uint64_t sent = atomic_load(&target), got = atomic_load(&received);
    if (sent != UINT64_MAX && got < sent) { /* stdin ended: every message must be back */
        fprintf(stderr, "c-client: %llu of %llu echoes received\n", (unsigned long long)got,
                (unsigned long long)sent);
        return 1;
    }
    if (peer_code == 1000 || peer_code == 1005)
        return 0;
    if (peer_code < 0)
        fprintf(stderr, "c-client: the connection ended without a close frame\n");
    else
        fprintf(stderr, "c-client: the server closed with code %d\n", peer_code);
    return 1;
}
