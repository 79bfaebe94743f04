// Package api holds the conventions every Hotline JSON API follows, so that
// each package's endpoints answer alike: errors as
// {"error": {"code", "message", "field"}}, responses never cached, and
// request bodies that are one JSON object of bounded size with no unknown
// fields, refused with a status and code that say what is wrong.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// WriteError answers status with an ErrorBody. field names the request
// field at fault, or is empty.
func WriteError(w http.ResponseWriter, status int, code, msg, field string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message, b.Error.Field = code, msg, field
	WriteJSON(w, status, b)
}

// WriteJSON answers status with v as JSON. API answers are per user and
// change with every event, so nothing may cache them.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DecodeJSON reads the request body into v: Content-Type application/json,
// at most maxBytes, one JSON object, no unknown fields and nothing after it.
// On failure it has answered (415, 413 or 400 with a code naming the
// problem and, where there is one, the field) and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		WriteError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type: application/json is required", "")
		return false
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		WriteError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json", "")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	status, code, message, field := DecodeProblem(err, maxBytes)
	WriteError(w, status, code, message, field)
	return false
}

// DecodeProblem is how DecodeJSON answers err, an error of decoding a JSON
// object of at most maxBytes: the status, the error code, the message and
// the field it is about, if any. Decoders of JSON that does not come as a
// request body (a socket frame) answer with it too.
func DecodeProblem(err error, maxBytes int64) (status int, code, message, field string) {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", maxBytes), ""
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return http.StatusBadRequest, "invalid_json", fmt.Sprintf("the body must be a JSON object, not a JSON %s", typeErr.Value), ""
	case errors.As(err, &typeErr):
		return http.StatusBadRequest, "invalid_field", fmt.Sprintf("field %s must be a JSON %s", typeErr.Field, typeErr.Type), typeErr.Field
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return http.StatusBadRequest, "unknown_field", fmt.Sprintf("unknown field %q", name), name
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, "invalid_json", "the body is empty; a JSON object is required", ""
	case errors.As(err, &syntaxErr):
		return http.StatusBadRequest, "invalid_json", fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, err), ""
	}
	return http.StatusBadRequest, "invalid_json", "malformed JSON: " + err.Error(), ""
}
