#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: these typed
 * wrappers are the only way Swift code reaches them. */
typedef size_t (*cairn_curl_data_fn)(char *data, size_t size, size_t count, void *ctx);

static inline CURLcode cairn_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cairn_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cairn_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cairn_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cairn_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cairn_curl_setopt_function(CURL *handle, CURLoption option, cairn_curl_data_fn fn) {
    return curl_easy_setopt(handle, option, fn);
}
typedef int (*cairn_curl_seek_fn)(void *ctx, curl_off_t offset, int origin);
static inline CURLcode cairn_curl_setopt_seek(CURL *handle, cairn_curl_seek_fn fn) {
    return curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, fn);
}
static inline CURLcode cairn_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
