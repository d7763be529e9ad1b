package config

import (
	"flag"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// field is one setting that can also come from a flag and an environment
// variable, derived from the Config struct tags.
type field struct {
	Key    string // yaml key
	Flag   string // flag name without dashes
	Env    string // environment variable
	Help   string
	Secret bool
	value  flag.Value
}

// fields lists the settings of c that have a text form, bound to c's memory.
// layer is shared by every list value: a list set in a new layer (file,
// environment, flags) replaces the lower layer's list instead of appending.
func fields(c *Config, layer *int) []field {
	var out []field
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if key == "" || key == "-" || !sf.IsExported() {
			continue
		}
		val := textValue(v.Field(i), layer)
		if val == nil {
			continue // file-only (e.g. a list of structs)
		}
		f := field{
			Key:    key,
			Flag:   sf.Tag.Get("flag"),
			Env:    sf.Tag.Get("env"),
			Help:   sf.Tag.Get("help"),
			Secret: sf.Tag.Get("secret") == "true",
			value:  val,
		}
		if f.Flag == "" {
			f.Flag = strings.ReplaceAll(key, "_", "-")
		}
		if f.Env == "" {
			f.Env = "WISHGATE_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
		}
		if f.Flag == "-" {
			continue
		}
		out = append(out, f)
	}
	return out
}

var durationType = reflect.TypeFor[time.Duration]()

// textValue adapts a field to flag.Value, or returns nil if its type has no
// text form here.
func textValue(v reflect.Value, layer *int) flag.Value {
	p := v.Addr().Interface()
	switch v.Type() {
	case durationType:
		return (*durationValue)(p.(*time.Duration))
	}
	switch v.Kind() {
	case reflect.String:
		return (*stringValue)(v.Addr().Convert(reflect.TypeFor[*string]()).Interface().(*string))
	case reflect.Bool:
		return (*boolValue)(p.(*bool))
	case reflect.Int:
		return (*intValue)(p.(*int))
	case reflect.Int64:
		return (*int64Value)(p.(*int64))
	case reflect.Float64:
		return (*floatValue)(p.(*float64))
	case reflect.Slice:
		if sp, ok := p.(*[]string); ok {
			return &listValue{v: sp, layer: layer, setIn: -1}
		}
	}
	return nil
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

type boolValue bool

func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }
func (b *boolValue) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false", v)
	}
	*b = boolValue(x)
	return nil
}

type intValue int

func (n *intValue) String() string { return strconv.Itoa(int(*n)) }
func (n *intValue) Set(v string) error {
	x, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}
	*n = intValue(x)
	return nil
}

type int64Value int64

func (n *int64Value) String() string { return strconv.FormatInt(int64(*n), 10) }
func (n *int64Value) Set(v string) error {
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}
	*n = int64Value(x)
	return nil
}

type floatValue float64

func (f *floatValue) String() string { return strconv.FormatFloat(float64(*f), 'g', -1, 64) }
func (f *floatValue) Set(v string) error {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", v)
	}
	*f = floatValue(x)
	return nil
}

type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }
func (d *durationValue) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 10s or 1m30s", v)
	}
	*d = durationValue(x)
	return nil
}

// listValue is a repeatable, comma-separable list. The first Set in a new
// layer replaces what a lower layer (the file, the environment) gave.
type listValue struct {
	v     *[]string
	layer *int
	setIn int
}

func (l *listValue) String() string {
	if l == nil || l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l *listValue) Set(s string) error {
	if l.setIn != *l.layer {
		*l.v = nil
		l.setIn = *l.layer
	}
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l.v = append(*l.v, part)
		}
	}
	return nil
}

// maskedValue hides a secret setting's value wherever flag prints it.
type maskedValue struct{ flag.Value }

func (m maskedValue) String() string {
	if m.Value == nil || m.Value.String() == "" {
		return ""
	}
	return "***"
}
