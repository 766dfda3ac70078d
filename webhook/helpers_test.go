package webhook

import (
	"errors"
	"os"
)

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }

func errorIsOne(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
