package signaling

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// EchoErrorHandler answers what echo itself refuses (an unknown path, a
// method no route has) with the same problem+json body as every other
// error of the gateway, instead of echo's own JSON shape.
func EchoErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, detail := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		detail = http.StatusText(status)
		if m, ok := he.Message.(string); ok && m != "" {
			detail = m
		} else if he.Message != nil {
			detail = fmt.Sprint(he.Message)
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = WriteProblem(c, status, detail)
}
