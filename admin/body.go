package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// maxBody bounds a request body: a reason or a ban fits in far less.
const maxBody = 64 << 10

// readJSONBody decodes exactly one JSON object into v, refusing unknown
// fields (a misspelt field is an error, not silently ignored). An empty
// body is allowed unless required.
func readJSONBody(w http.ResponseWriter, r *http.Request, v any, shape string, required bool) error {
	done := readingBody(r)
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	done()
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
	if msg := checkKeys(raw, v); msg != "" {
		return badRequest(fmt.Sprintf("body is not %s: %s", shape, msg))
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest(fmt.Sprintf("body is not %s: %s", shape, jsonProblem(err)))
	}
	if dec.More() {
		return badRequest("body has data after the JSON object; send one " + shape)
	}
	return nil
}

// checkKeys holds the body's top level to what encoding/json lets pass:
// null (decoded as nothing), a name in another case ({"REASON": ...} was
// the reason) and a name given twice (the last won). The rest is the
// decoder's to say, so a body this cannot read passes here.
func checkKeys(raw []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return ""
	}
	if tok == nil {
		return "the body is a JSON null, not an object"
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return ""
	}
	names := jsonNames(reflect.TypeOf(v))
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return ""
		}
		if !names[key] {
			for name := range names {
				if strings.EqualFold(name, key) {
					return fmt.Sprintf("unknown field %q (names are case-sensitive: %q)", key, name)
				}
			}
		}
		if seen[key] {
			return fmt.Sprintf("field %q is given twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// jsonNames are the JSON names of the fields of the struct t points to.
func jsonNames(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	names := make(map[string]bool)
	if t.Kind() != reflect.Struct {
		return names
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if name != "-" && f.IsExported() {
			names[name] = true
		}
	}
	return names
}

// jsonProblem says what is wrong with a body in the request's terms: the
// decoder's own text names Go's types and struct fields
// ("cannot unmarshal number into Go struct field banBody.value of type
// string"), which an operator with curl cannot act on.
func jsonProblem(err error) string {
	var (
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return "the body is a JSON " + typeErr.Value + ", not an object"
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)
	case errors.As(err, &syntax):
		return fmt.Sprintf("not valid JSON at byte %d (%s)", syntax.Offset, syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early (a missing closing brace or quote?)"
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + field
	}
	return err.Error()
}

// jsonKind names the JSON value that t's field takes.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
