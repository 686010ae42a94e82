package s3_test

import (
	"fmt"
	"time"

	"github.com/medflow/medflow/connectors/s3"
)

// Options print with their secrets redacted.
func ExampleOptions() {
	opts := s3.Options{
		Endpoint:  "127.0.0.1:7070",
		AccessKey: "AKIAEXAMPLE",
		SecretKey: "wJalrXUtnFEMI/K7MDENG",
		PathStyle: true,
		Secure:    s3.Bool(false),
		Retry:     s3.Retry{Deadline: time.Minute},
	}
	fmt.Println(opts)
	// Output: s3.Options{Endpoint:"127.0.0.1:7070" Region:"" AccessKey:"REDACTED" SecretKey:"REDACTED" SessionToken:"" PathStyle:true Secure:false InsecureSkipVerify:false Retry:{InitialBackoff:0s MaxBackoff:0s Deadline:1m0s} Timeouts:{Connect:0s ResponseHeader:0s IdleBody:0s}}
}
