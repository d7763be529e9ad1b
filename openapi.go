// Package wishgate holds what has to sit at the repository root: the OpenAPI
// description of every HTTP route (openapi.yaml), embedded so the server can
// serve it at /api/openapi.yaml. go:embed cannot reach parent directories,
// hence this tiny package rather than a copy under internal/.
package wishgate

import _ "embed"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document (YAML). The slice is a copy.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
