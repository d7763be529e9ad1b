package network

import (
	"strconv"

	"github.com/wishgate/wishgate/internal/client"
)

func itoa(n int) string { return strconv.Itoa(n) }

func clientOpts() client.PublishOptions { return client.PublishOptions{} }
