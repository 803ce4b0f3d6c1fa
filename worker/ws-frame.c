/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The server side of RFC 6455 frames for Pomelo clients, after the
 * upgrade (ws-http.c) this codec drives: frames are read and written
 * here, with wslay's definitions (opcodes, close codes).
 *
 * The reader parses each header itself, unmasks eight bytes at a time
 * straight from the read buffer, and keeps no state between reads unless
 * a header or frame is cut by one (struct ws_rx, then). (wslay's own
 * frame reader was the largest user-space cost of a worker in the
 * benchmark: it copies every byte into its own buffer and unmasks it
 * byte by byte.)
 *
 * An open connection keeps only struct ws and its path. A data message
 * that arrives whole in one frame is unmasked into one scratch buffer per
 * process and handed to the message callback; only a message that is
 * fragmented or straddles reads gets a reassembly buffer (struct ws_msg),
 * freed once it is delivered. Writing a server frame needs no mask and a
 * header of at most 10 bytes.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wslay/wslay.h>

#include "common/utf8.h"
#include "common/xmalloc.h"

#include "worker/ws.h"

#define WS_CTL_MAX		125	/* largest control frame payload */
#define WS_CLOSE_REASON_MAX	(WS_CTL_MAX - 2)
#define WS_DEFAULT_MAX_REQUEST	8192
#define WS_DEFAULT_MAX_MESSAGE	(1024 * 1024)

enum ws_state {
	WS_STATE_HTTP,		/* reading the upgrade request */
	WS_STATE_OPEN,		/* 101 sent, reading frames */
	WS_STATE_CLOSED,	/* HTTP error or close handshake done */
	WS_STATE_FAILED,	/* protocol error, or stopped by a callback */
};

/*
 * The frame being read. It lives on the stack while frames arrive whole,
 * and is kept on the heap only while a header or a frame is cut between
 * feeds.
 */
struct ws_rx {
	uint64_t		 frame_len;	/* payload length */
	uint64_t		 frame_off;	/* payload bytes read */
	uint8_t			 mask[4];
	uint8_t			 frame_op;
	bool			 frame_fin;
	bool			 in_frame;	/* its header was read */
	bool			 direct;	/* delivered from scratch */
	uint8_t			 hdr_len;	/* header bytes stashed */
	uint8_t			 hdr[14];	/* a header cut by a feed */
	uint8_t			 ctl_len;
	uint8_t			 ctl[WS_CTL_MAX]; /* control payload */
};

struct ws_msg {
	size_t		 len;
	size_t		 cap;
	uint8_t		 op;		/* text or binary */
	uint8_t		 data[];
};

struct ws {
	struct ws_callbacks	 cb;
	void			*arg;
	size_t			 max_message;
	struct ws_http		*http;	/* until the request is answered */
	struct ws_rx		*rx;	/* while frames are being read */
	struct ws_msg		*msg;	/* while a message is reassembled */
	char			*path;	/* once open */
	const char		*error;
	int			 result; /* ws_feed() once closed/failed */
	uint8_t			 state;	/* enum ws_state */
	bool			 opened;	/* 101 sent */
	bool			 close_sent;
	bool			 broken;	/* a write failed */
};

/* Passes <len> bytes to the write callback; after a failure, nothing. */
static int
ws_write(struct ws *ws, const void *data, size_t len)
{
	int	 r;

	if (ws->broken) {
		return -EPIPE;
	}
	r = ws->cb.write(ws->arg, data, len);
	if (r != 0) {
		ws->broken = true;
		return r < 0 ? r : -EIO;
	}
	return 0;
}

/*
 * The close codes an endpoint may put on the wire (RFC 6455 §7.4 and the
 * IANA registry): 1004, 1005, 1006 and 1015 never travel in a frame.
 */
static bool
ws_close_code_valid(unsigned int code)
{
	if (code >= 1000 && code <= 1014) {
		return code != 1004 && code != 1005 && code != 1006;
	}
	return code >= 3000 && code <= 4999;
}

/* Writes a control frame (<len> at most WS_CTL_MAX) in one call. */
static int
ws_send_control(struct ws *ws, uint8_t op, const uint8_t *payload,
    size_t len)
{
	uint8_t	 frame[2 + WS_CTL_MAX];

	frame[0] = 0x80 | op;
	frame[1] = (uint8_t)len;
	if (len > 0) {
		memcpy(frame + 2, payload, len);
	}
	return ws_write(ws, frame, 2 + len);
}

static int
ws_send_close(struct ws *ws, uint16_t code, const char *reason,
    size_t reason_len)
{
	uint8_t	 payload[WS_CTL_MAX];

	payload[0] = code >> 8;
	payload[1] = code & 0xff;
	if (reason_len > 0) {
		memcpy(payload + 2, reason, reason_len);
	}
	return ws_send_control(ws, WSLAY_CONNECTION_CLOSE, payload,
	    2 + reason_len);
}

/*
 * Fails the connection: sends a close frame with <code> if none was sent
 * and keeps <err> as the answer to every later ws_feed().
 */
static int
ws_fail(struct ws *ws, uint16_t code, int err, const char *why)
{
	ws->error = why;
	ws->state = WS_STATE_FAILED;
	ws->result = err;
	if (ws->opened && !ws->close_sent) {
		ws->close_sent = true;
		(void)ws_send_close(ws, code, NULL, 0);
	}
	return err;
}

/*
 * The scratch buffer a whole frame is unmasked into before it is handed
 * to the message callback: one per process, since a worker is one thread
 * and the callback never feeds a WebSocket again.
 */
static uint8_t	*ws_scratch;
static size_t	 ws_scratch_cap;

static uint8_t *
ws_scratch_get(size_t len)
{
	size_t	 cap = ws_scratch_cap ? ws_scratch_cap : 4096;

	if (len > ws_scratch_cap || ws_scratch == NULL) {
		while (cap < len) {
			cap *= 2;
		}
		ws_scratch = xrealloc(ws_scratch, cap);
		ws_scratch_cap = cap;
	}
	return ws_scratch;
}

/*
 * Copies <len> bytes of masked payload from <src> to <dst>, unmasking
 * with <key>; <off> is the offset of <src> in the frame's payload. Eight
 * bytes at a time: this loop is where a WebSocket's bytes are touched.
 */
static void
ws_unmask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *key,
    uint64_t off)
{
	uint8_t		 k[8];
	uint64_t	 k8, v;
	size_t		 i = 0;

	for (i = 0; i < 8; i++) {
		k[i] = key[(off + i) & 3];
	}
	memcpy(&k8, k, sizeof k8);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&v, src + i, sizeof v);
		v ^= k8;
		memcpy(dst + i, &v, sizeof v);
	}
	for (; i < len; i++) {
		dst[i] = src[i] ^ k[i & 7];
	}
}

/* The length of a frame header from its second byte. */
static size_t
ws_header_len(uint8_t b1)
{
	size_t	 n = 2;

	if ((b1 & 0x7f) == 126) {
		n += 2;
	} else if ((b1 & 0x7f) == 127) {
		n += 8;
	}
	if (b1 & 0x80) {
		n += 4;
	}
	return n;
}

/*
 * Decodes the header in <h> into <iocb> and <rx>. Lengths must be in
 * their shortest form and fit 63 bits (RFC 6455 §5.2). Returns 0 or -1.
 */
static int
ws_header_parse(const uint8_t *h, struct wslay_frame_iocb *iocb,
    struct ws_rx *rx)
{
	uint64_t	 len = h[1] & 0x7f;
	size_t		 off = 2;
	int		 i;

	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		off = 4;
		if (len < 126) {
			return -1;
		}
	} else if (len == 127) {
		len = 0;
		for (i = 0; i < 8; i++) {
			len = len << 8 | h[2 + i];
		}
		off = 10;
		if (len < 65536 || (len >> 63) != 0) {
			return -1;
		}
	}
	memset(iocb, 0, sizeof *iocb);
	iocb->fin = (h[0] & 0x80) != 0;
	iocb->rsv = (h[0] >> 4) & 7;
	iocb->opcode = h[0] & 0x0f;
	iocb->mask = (h[1] & 0x80) != 0;
	iocb->payload_length = len;
	if (iocb->mask) {
		memcpy(rx->mask, h + off, 4);
	} else {
		memset(rx->mask, 0, 4);
	}
	return 0;
}

/* Makes room for <need> bytes of message in ws->msg. */
static void
ws_msg_reserve(struct ws *ws, size_t need, uint8_t op, bool final)
{
	struct ws_msg	*m = ws->msg;
	size_t		 cap;

	if (m != NULL && m->cap >= need) {
		return;
	}
	cap = need;
	if (!final && m != NULL) {
		/* More fragments follow: grow geometrically, up to the cap. */
		cap = m->cap * 2 < ws->max_message ? m->cap * 2 :
		    ws->max_message;
		if (cap < need) {
			cap = need;
		}
	}
	m = xrealloc(m, sizeof *m + cap);
	if (ws->msg == NULL) {
		m->len = 0;
		m->op = op;
	}
	m->cap = cap;
	ws->msg = m;
}

/* A frame header was read; <iocb> says how much payload is here. */
static int
ws_frame_start(struct ws *ws, struct ws_rx *rx,
    const struct wslay_frame_iocb *iocb)
{
	size_t	 have;

	rx->in_frame = true;
	rx->frame_len = iocb->payload_length;
	rx->frame_off = 0;
	rx->frame_op = iocb->opcode;
	rx->frame_fin = iocb->fin != 0;
	rx->direct = false;
	rx->ctl_len = 0;
	if (iocb->rsv != 0) {
		return ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
		    "reserved bits set");
	}
	if (!iocb->mask) {
		return ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
		    "unmasked client frame");
	}
	switch (iocb->opcode) {
	case WSLAY_CONTINUATION_FRAME:
		if (ws->msg == NULL) {
			return ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
			    "continuation frame without a message");
		}
		break;
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (ws->msg != NULL) {
			return ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
			    "new message inside a fragmented one");
		}
		break;
	case WSLAY_CONNECTION_CLOSE:
	case WSLAY_PING:
	case WSLAY_PONG:
		if (iocb->payload_length > WS_CTL_MAX || !iocb->fin) {
			return ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
			    "bad control frame");
		}
		return 0;
	default:
		return ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
		    "unknown opcode");
	}

	have = ws->msg != NULL ? ws->msg->len : 0;
	if (iocb->payload_length > ws->max_message - have) {
		return ws_fail(ws, WSLAY_CODE_MESSAGE_TOO_BIG, -EMSGSIZE,
		    "message too big");
	}
	if (ws->msg == NULL && iocb->fin &&
	    iocb->data_length == iocb->payload_length) {
		rx->direct = true;
		return 0;
	}
	ws_msg_reserve(ws, have + (size_t)iocb->payload_length, iocb->opcode,
	    iocb->fin != 0);
	return 0;
}

/* Payload bytes of the current frame (not a direct one), unmasked. */
static void
ws_frame_data(struct ws *ws, struct ws_rx *rx, const uint8_t *data,
    size_t len)
{
	if (len == 0) {
		return;
	}
	if (wslay_is_ctrl_frame(rx->frame_op)) {
		ws_unmask(rx->ctl + rx->ctl_len, data, len, rx->mask,
		    rx->frame_off);
		rx->ctl_len += (uint8_t)len;
	} else {
		ws_unmask(ws->msg->data + ws->msg->len, data, len, rx->mask,
		    rx->frame_off);
		ws->msg->len += len;
	}
	rx->frame_off += len;
}

/* Hands a whole data message to the message callback. */
static int
ws_deliver(struct ws *ws, uint8_t op, const uint8_t *data, size_t len)
{
	int	 r;

	if (op == WSLAY_TEXT_FRAME && !utf8_valid(data, len)) {
		return ws_fail(ws, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA,
		    -EPROTO, "invalid UTF-8 in a text message");
	}
	if (ws->close_sent) {
		/* Closing: the session is no longer interested. */
		return 0;
	}
	r = ws->cb.message(ws->arg, data, len);
	if (r != 0) {
		ws->state = WS_STATE_FAILED;
		ws->result = r;
		ws->error = "stopped by the message callback";
	}
	return r;
}

/* Answers a close frame and ends the connection. */
static int
ws_on_close(struct ws *ws, const uint8_t *payload, size_t len)
{
	uint16_t	 code = WSLAY_CODE_NORMAL_CLOSURE;
	int		 r;

	if (len == 1) {
		return ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
		    "close frame of one byte");
	}
	if (len >= 2) {
		code = (uint16_t)(payload[0] << 8 | payload[1]);
		if (!ws_close_code_valid(code)) {
			return ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
			    "invalid close code");
		}
		if (!utf8_valid(payload + 2, len - 2)) {
			return ws_fail(ws,
			    WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, -EPROTO,
			    "invalid UTF-8 in a close reason");
		}
	}
	ws->state = WS_STATE_CLOSED;
	ws->result = WS_FEED_CLOSE;
	ws->error = "closed by the peer";
	if (!ws->close_sent) {
		ws->close_sent = true;
		r = ws_send_close(ws, code, NULL, 0);
		if (r != 0) {
			return r;
		}
	}
	return WS_FEED_CLOSE;
}

/* A whole frame was read; a direct one's payload is <data>. */
static int
ws_frame_end(struct ws *ws, struct ws_rx *rx, const uint8_t *data,
    size_t len)
{
	struct ws_msg	*m;
	int		 r;

	rx->in_frame = false;
	switch (rx->frame_op) {
	case WSLAY_PING:
		if (ws->close_sent) {
			return 0;
		}
		return ws_send_control(ws, WSLAY_PONG, rx->ctl, rx->ctl_len);
	case WSLAY_PONG:
		return 0;
	case WSLAY_CONNECTION_CLOSE:
		return ws_on_close(ws, rx->ctl, rx->ctl_len);
	default:
		break;
	}
	if (!rx->frame_fin) {
		return 0;
	}
	if (rx->direct) {
		return ws_deliver(ws, rx->frame_op, data, len);
	}
	m = ws->msg;
	r = ws_deliver(ws, m->op, m->data, m->len);
	FREE_AND_NULL(ws->msg);
	return r;
}

/*
 * Reads frames from <data> until it is used up or the connection ends.
 * The reader's state lives on the stack while frames arrive whole, and
 * is kept (ws->rx) only when a header or a frame is cut by the feed.
 */
static int
ws_frames_feed(struct ws *ws, const uint8_t *data, size_t len)
{
	struct wslay_frame_iocb	 iocb;
	struct ws_rx		 rx;
	const uint8_t		*h;
	uint8_t			*out;
	size_t			 hlen, take;
	int			 r = 0;

	if (ws->rx != NULL) {
		rx = *ws->rx;
		FREE_AND_NULL(ws->rx);
	} else {
		memset(&rx, 0, sizeof rx);
	}
	while (r == 0 && ws->state == WS_STATE_OPEN) {
		if (rx.in_frame) {
			take = rx.frame_len - rx.frame_off < len ?
			    (size_t)(rx.frame_len - rx.frame_off) : len;
			ws_frame_data(ws, &rx, data, take);
			data += take;
			len -= take;
			if (rx.frame_off < rx.frame_len) {
				break;		/* the rest comes later */
			}
			r = ws_frame_end(ws, &rx, NULL, 0);
			continue;
		}
		/* A header: what was stashed, then the input. */
		if (rx.hdr_len > 0 || len < 2 || len < ws_header_len(data[1])) {
			while (len > 0 && (rx.hdr_len < 2 ||
			    rx.hdr_len < ws_header_len(rx.hdr[1]))) {
				rx.hdr[rx.hdr_len++] = *data++;
				len--;
			}
			if (rx.hdr_len < 2 ||
			    rx.hdr_len < ws_header_len(rx.hdr[1])) {
				break;		/* the rest comes later */
			}
			h = rx.hdr;
			rx.hdr_len = 0;
		} else {
			h = data;
			hlen = ws_header_len(data[1]);
			data += hlen;
			len -= hlen;
		}
		if (ws_header_parse(h, &iocb, &rx) != 0) {
			r = ws_fail(ws, WSLAY_CODE_PROTOCOL_ERROR, -EPROTO,
			    "bad frame header");
			break;
		}
		iocb.data_length = iocb.payload_length < len ?
		    (size_t)iocb.payload_length : len;
		if ((r = ws_frame_start(ws, &rx, &iocb)) != 0) {
			break;
		}
		if (rx.direct) {
			/* Whole and unfragmented: unmasked once, no copy kept. */
			take = (size_t)rx.frame_len;
			out = ws_scratch_get(take);
			ws_unmask(out, data, take, rx.mask, 0);
			data += take;
			len -= take;
			rx.frame_off = rx.frame_len;
			r = ws_frame_end(ws, &rx, out, take);
		}
	}
	if (r != 0 && ws->state == WS_STATE_OPEN) {
		/* Only a failed write (of a pong) ends up here. */
		ws->state = WS_STATE_FAILED;
		ws->result = r;
		ws->error = "write failed";
	}
	if (ws->state != WS_STATE_OPEN) {
		/* Nothing more is read: release the buffers now. */
		FREE_AND_NULL(ws->msg);
		return r != 0 ? r : ws->result;
	}
	if (rx.in_frame || rx.hdr_len > 0) {
		ws->rx = xmalloc(sizeof rx);
		*ws->rx = rx;
	}
	return r;
}

/*
 * Feeds the upgrade request and writes its answer once it is complete.
 * Returns 0 to go on (with frames when the state is now open), else what
 * ws_feed() returns.
 */
static int
ws_upgrade(struct ws *ws, const uint8_t *data, size_t len,
    size_t *ret_used)
{
	struct ws_http_answer	 a;
	int			 r;

	memset(&a, 0, sizeof a);
	r = ws_http_feed(ws->http, data, len, ret_used, &a);
	if (r == WS_HTTP_MORE) {
		return 0;
	}
	ws_http_destroy(ws->http);
	ws->http = NULL;
	if (r == WS_HTTP_REJECT) {
		ws->state = WS_STATE_CLOSED;
		ws->result = WS_FEED_CLOSE;
		ws->error = a.why;
		r = ws_write(ws, a.text, a.len);
		return r != 0 ? r : WS_FEED_CLOSE;
	}
	ws->path = a.path;
	ws->state = WS_STATE_OPEN;
	ws->opened = true;
	r = ws_write(ws, a.text, a.len);
	if (r != 0) {
		ws->state = WS_STATE_FAILED;
		ws->result = r;
		ws->error = "cannot write the 101 response";
	}
	return r;
}

/* The API. */

struct ws *
ws_create(const struct ws_conf *conf, const struct ws_callbacks *cb,
    void *arg)
{
	struct ws	*ws;

	ws = xcalloc(1, sizeof *ws);
	ws->cb = *cb;
	ws->arg = arg;
	ws->max_message = conf->max_message != 0 ? conf->max_message :
	    WS_DEFAULT_MAX_MESSAGE;
	ws->state = WS_STATE_HTTP;
	ws->http = ws_http_create(conf->max_request != 0 ?
	    conf->max_request : WS_DEFAULT_MAX_REQUEST);
	return ws;
}

void
ws_destroy(struct ws *ws)
{
	if (ws == NULL) {
		return;
	}
	ws_http_destroy(ws->http);
	free(ws->rx);
	free(ws->msg);
	free(ws->path);
	free(ws);
}

int
ws_feed(struct ws *ws, const uint8_t *data, size_t len)
{
	size_t	 used = 0;
	int	 r;

	switch (ws->state) {
	case WS_STATE_HTTP:
		if (len == 0) {
			return 0;
		}
		r = ws_upgrade(ws, data, len, &used);
		if (r != 0 || ws->state != WS_STATE_OPEN || used == len) {
			return r;
		}
		return ws_frames_feed(ws, data + used, len - used);
	case WS_STATE_OPEN:
		if (len == 0) {
			return 0;
		}
		return ws_frames_feed(ws, data, len);
	default:
		return ws->result;
	}
}

int
ws_is_open(const struct ws *ws)
{
	return ws->opened;
}

int
ws_sendv(struct ws *ws, const struct iovec *iov, int iovcnt)
{
	uint8_t	 head[10];
	size_t	 head_len, total = 0;
	int	 i, r;

	if (!ws->opened) {
		return -ENOTCONN;
	}
	if (ws->close_sent || ws->broken) {
		return -EPIPE;
	}
	if (iovcnt < 0) {
		return -EINVAL;
	}
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - total) {
			return -EMSGSIZE;
		}
		total += iov[i].iov_len;
	}
	head[0] = 0x80 | WSLAY_BINARY_FRAME;
	if (total < 126) {
		head[1] = (uint8_t)total;
		head_len = 2;
	} else if (total <= 0xffff) {
		head[1] = 126;
		head[2] = (uint8_t)(total >> 8);
		head[3] = (uint8_t)total;
		head_len = 4;
	} else {
		head[1] = 127;
		for (i = 0; i < 8; i++) {
			head[2 + i] = (uint8_t)((uint64_t)total >> (56 - 8 * i));
		}
		head_len = 10;
	}
	r = ws_write(ws, head, head_len);
	for (i = 0; r == 0 && i < iovcnt; i++) {
		if (iov[i].iov_len > 0) {
			r = ws_write(ws, iov[i].iov_base, iov[i].iov_len);
		}
	}
	return r;
}

int
ws_close(struct ws *ws, uint16_t code, const char *reason)
{
	size_t	 len = 0;

	if (!ws->opened) {
		return -ENOTCONN;
	}
	if (ws->close_sent) {
		return 0;
	}
	if (!ws_close_code_valid(code)) {
		return -EINVAL;
	}
	if (reason != NULL) {
		len = strlen(reason);
		if (len > WS_CLOSE_REASON_MAX) {
			/* Cut on a UTF-8 character boundary. */
			len = WS_CLOSE_REASON_MAX;
			while (len > 0 &&
			    ((unsigned char)reason[len] & 0xc0) == 0x80) {
				len--;
			}
		}
	}
	ws->close_sent = true;
	return ws_send_close(ws, code, reason, len);
}

size_t
ws_memory(const struct ws *ws)
{
	size_t	 n;

	n = malloc_usable_size((void *)ws);
	n += ws_http_memory(ws->http);
	if (ws->rx != NULL) {
		n += malloc_usable_size(ws->rx);
	}
	n += malloc_usable_size(ws->msg) + malloc_usable_size(ws->path);
	return n;
}

const char *
ws_path(const struct ws *ws)
{
	return ws->path;
}

const char *
ws_error(const struct ws *ws)
{
	return ws->error != NULL ? ws->error : "no error";
}
