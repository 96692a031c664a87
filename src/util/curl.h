/* curl.h: what libcurl's result codes mean to the project's two HTTP
 * clients, the registry client (src/registry/) and the remote result
 * cache (src/cache/http.c).  Only files that link libcurl include it. */
#ifndef OHR_UTIL_CURL_H
#define OHR_UTIL_CURL_H

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>

#include "util/error.h"

/* libcurl's global set-up, once (per file that calls it: libcurl counts
 * its calls, so a second is harmless). */
static inline int
curl_init_once (ohr_error_t *err)
{
  static bool ready;
  if (!ready)
    {
      if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                              "cannot initialize libcurl");
      ready = true;
    }
  return 0;
}

/* A failure of the network or of the server's side of the transfer
 * (refused, unresolved, timed out, cut off), which a later attempt may
 * not meet, as opposed to one of the request itself or of the client. */
static inline bool
curl_code_transient (CURLcode rc)
{
  switch (rc)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
    }
}

#endif
