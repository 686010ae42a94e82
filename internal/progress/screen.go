package progress

import (
	"strconv"
	"strings"
)

// Screen replays what a terminal shows for out, a byte stream written to
// it, understanding what the Terminal writes: text, newlines, carriage
// returns, cursor up (ESC[nA), clear to end of screen (ESC[J) and clear
// line (ESC[2K). Other escape sequences are dropped. Tests use it to
// check what a user would see.
func Screen(out string) string {
	var lines []string
	row, col := 0, 0
	put := func(r rune) {
		for len(lines) <= row {
			lines = append(lines, "")
		}
		l := []rune(lines[row])
		for len(l) < col {
			l = append(l, ' ')
		}
		if col < len(l) {
			l[col] = r
		} else {
			l = append(l, r)
		}
		lines[row] = string(l)
		col++
	}
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\n':
			row, col = row+1, 0
		case r == '\r':
			col = 0
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == ';') {
				j++
			}
			if j >= len(rs) {
				i = j
				break
			}
			n, _ := strconv.Atoi(string(rs[i+2 : j]))
			switch rs[j] {
			case 'A':
				row = max(0, row-max(n, 1))
			case 'J': // from the cursor (always at a line start here) down
				lines = lines[:min(len(lines), row)]
			case 'K':
				if row < len(lines) {
					lines[row] = ""
				}
			}
			i = j
		default:
			put(r)
		}
	}
	var b strings.Builder
	for i, l := range lines {
		if i < row || l != "" {
			b.WriteString(strings.TrimRight(l, " ") + "\n")
		}
	}
	return b.String()
}
