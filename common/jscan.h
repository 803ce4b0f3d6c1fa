/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * JSON text read in place, without building values: for the hot path of
 * forwarding, where a client's body goes into a pomelo-rpc envelope and a
 * backend's answer goes back to the client as the bytes the backend wrote.
 *
 * jscan_plain() says whether a text is one JSON value that reads the same
 * everywhere it goes: valid JSON, valid UTF-8, and nothing on which jansson
 * and JavaScript's JSON.parse could disagree (an exponent, an integer
 * part of more than JSCAN_INT_DIGITS digits, "\u0000", a lone surrogate
 * escape, nesting deeper than JSCAN_MAX_DEPTH). Whatever is not plain
 * takes the slow path, through jansson, which decides. Inside a plain
 * text the iterators walk the members of an object and the elements of
 * an array as spans of that text.
 */

#ifndef COMMON_JSCAN_H
#define COMMON_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Beyond these a text is not plain (jansson's own limit is 2048). */
#define JSCAN_MAX_DEPTH		512
#define JSCAN_INT_DIGITS	15

/* A walk through one object or array of a plain text. */
struct jscan_iter {
	const char	*p;
	size_t		 len;
	size_t		 pos;
	bool		 first;
};

bool	jscan_plain(const char *text, size_t len);
bool	jscan_is(const char *v, size_t len, const char *literal);
bool	jscan_enter(struct jscan_iter *it, const char *v, size_t len,
	    char open);
bool	jscan_member(struct jscan_iter *it, const char **ret_key,
	    size_t *ret_key_len, const char **ret_v, size_t *ret_len);
bool	jscan_element(struct jscan_iter *it, const char **ret_v,
	    size_t *ret_len);

#endif
