package connectors_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/s3"
)

// Options embeds s3.Options; printing, logging or marshalling it must not
// reveal credentials either.
func TestOptionsRedacted(t *testing.T) {
	const access, secret = "AKIAROOTPKGLEAKCHECK", "root/pkg+leak-check-secret"
	opts := connectors.Options{S3: s3.Options{Endpoint: "minio:9000", AccessKey: access, SecretKey: secret}}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("open", "opts", opts)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("open", "opts", opts)
	js, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", opts), "%+v": fmt.Sprintf("%+v", opts), "%#v": fmt.Sprintf("%#v", opts),
		"slog": logs.String(), "json": string(js),
	} {
		if strings.Contains(out, access) || strings.Contains(out, secret) {
			t.Errorf("%s leaks a credential: %s", name, out)
		}
		if !strings.Contains(out, "minio:9000") {
			t.Errorf("%s lost the endpoint: %s", name, out)
		}
	}
}
