//go:build tools

package deps

import (
	_ "github.com/bluenviron/gortsplib/v4"
	_ "github.com/labstack/echo/v4"
	_ "github.com/pion/ice/v4"
	_ "github.com/pion/interceptor"
	_ "github.com/pion/rtcp"
	_ "github.com/pion/rtp"
	_ "github.com/pion/sdp/v3"
	_ "github.com/pion/webrtc/v4"
	_ "go.uber.org/goleak"
)
