package config

import (
	"fmt"
	"strings"
)

// expand performs ${VAR}, ${VAR:-default} and $${ substitution on s.
//
// It returns the expanded text, whether any variable was referenced, and an
// error message (without class or location) if a reference is malformed or
// names an unset variable without default. The message never contains the
// value of a variable.
func expand(s string, lookup func(string) (string, bool)) (out string, usedVar bool, msg string) {
	if !strings.Contains(s, "$") {
		return s, false, ""
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", usedVar, fmt.Sprintf("unterminated variable reference %q (write $${ for a literal ${)", truncate(s[i:], 40))
			}
			ref := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(ref, ":-")
			if !validVarName(name) {
				return "", usedVar, fmt.Sprintf("invalid variable reference %q (want ${NAME} or ${NAME:-default}; write $${ for a literal ${)", truncate("${"+ref+"}", 60))
			}
			usedVar = true
			val, ok := lookup(name)
			switch {
			case ok && (val != "" || !hasDef):
				b.WriteString(val)
			case hasDef:
				b.WriteString(def)
			default:
				missing = append(missing, "${"+name+"}")
			}
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	if len(missing) > 0 {
		return "", usedVar, fmt.Sprintf("environment variable %s is not set (use ${NAME:-default} to give a default)", strings.Join(missing, ", "))
	}
	return b.String(), usedVar, ""
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
