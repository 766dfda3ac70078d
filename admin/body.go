package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody bounds a request body: a reason or a ban fits in far less.
const maxBody = 64 << 10

// readJSONBody decodes exactly one JSON object into v, refusing unknown
// fields (a misspelt field is an error, not silently ignored). An empty
// body is allowed unless required.
func readJSONBody(w http.ResponseWriter, r *http.Request, v any, shape string, required bool) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
		return &requestError{msg: fmt.Sprintf("body over %d bytes; send one %s", maxBody, shape), base: ErrTooLarge}
	}
	if err != nil {
		return badRequest(fmt.Sprintf("body: %v", err))
	}
	if strings.TrimSpace(string(raw)) == "" {
		if required {
			return badRequest("body missing: send " + shape)
		}
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest(fmt.Sprintf("body is not %s: %v", shape, err))
	}
	if dec.More() {
		return badRequest("body has data after the JSON object; send one " + shape)
	}
	return nil
}
