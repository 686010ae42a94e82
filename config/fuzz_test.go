package config_test

import (
	"errors"
	"testing"

	"github.com/medflow/medflow/config"
)

// FuzzParse checks that Parse, Variant and Settings never panic and that
// every error is a located *config.Error.
func FuzzParse(f *testing.F) {
	f.Add([]byte(demo))
	f.Add([]byte(chain))
	f.Add([]byte(settingsFile))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := config.Parse(file, data)
		if err != nil {
			if cf != nil {
				t.Fatal("non-nil File with error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a *config.Error: %v", err)
			}
			return
		}
		set, _ := config.ParseSet("a.b.c=[1, {x: y}]")
		for _, v := range cf.Variants() {
			if _, err := cf.Variant(v, nil); err != nil {
				t.Fatalf("Variant(%q) of a valid file: %v", v, err)
			}
			_, _ = cf.Variant(v, []config.Override{set})
		}
		_, _ = cf.Settings(nil)
	})
}
