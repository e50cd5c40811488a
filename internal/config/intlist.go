package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// IntList is a comma-separated list of integers ("150,400,1024"), kept
// sorted and without duplicates.
type IntList []int

// String implements flag.Value.
func (l *IntList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// Set implements flag.Value: it replaces the list.
func (l *IntList) Set(v string) error {
	var out IntList
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("%q is not a list of integers", v)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	*l = slices.Compact(out)
	return nil
}
