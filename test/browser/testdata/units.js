// Checks of the page scripts' pure functions, run inside Chromium on a page
// of the gateway (same origin, so the modules import). The Go test passes
// the recorded Chromium WHEP offer as OFFER and expects an empty array.
(async (OFFER) => {
  const failures = [];
  let checks = 0;
  const check = (name, ok, got) => {
    checks++;
    if (!ok) failures.push(`${name}: got ${JSON.stringify(got)}`);
  };
  const player = await import("/static/js/whep-player.js");
  const http = await import("/static/js/httpsession.js");
  const peer = await import("/static/js/peer.js");
  const pub = await import("/static/js/whip-publisher.js");
  const dash = await import("/static/js/dashboard.js");
  const stats = await import("/static/js/stats.js");

  // Stereo Opus: stereo=1 lands on the Opus fmtp (PT 111 in this offer) only.
  const munged = player.mungeStereoOpus(OFFER);
  const opusFmtp = munged.split("\r\n").find((l) => l.startsWith("a=fmtp:111 "));
  check("stereo on opus", /;stereo=1;sprop-stereo=1$/.test(opusFmtp), opusFmtp);
  check("stereo only once", player.mungeStereoOpus(munged) === munged, "munging twice changed the SDP");
  check("stereo leaves video alone", !munged.split("\r\n").some((l) => /^a=fmtp:(96|102) .*stereo/.test(l)), "video fmtp touched");
  check("CRLF kept", munged.split("\n").every((l, i, a) => i === a.length - 1 || l.endsWith("\r")), "line ends changed");

  // An answer rejecting the BUNDLE-tag m-section is offered again, narrower.
  let narrowed = null;
  try {
    player.checkBundleTag("v=0\r\nm=video 0 UDP/TLS/RTP/SAVPF 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
  } catch (e) {
    narrowed = e.kinds;
  }
  check("rejected first m-line narrows the offer", JSON.stringify(narrowed) === '["audio"]', narrowed);
  const fine = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nm=audio 0 UDP/TLS/RTP/SAVPF 0\r\n";
  check("rejected second m-line is fine", player.checkBundleTag(fine) === fine, "threw");

  // Words and retry policy for each refusal.
  const c409 = player.classify(new http.HttpError(409, "stream is not live", 2), false, 1);
  check("409 waits for Retry-After", c409.state === "waiting" && c409.retryIn === 2 && /not live yet/.test(c409.message), c409);
  const c409big = player.classify(new http.HttpError(409, "", 3600), false, 1);
  check("409 caps a huge Retry-After", c409big.retryIn === 30, c409big);
  const c401 = player.classify(new http.HttpError(401, ""), false, 1);
  check("401 without token asks for one", c401.code === "token" && c401.message === "This stream needs a token" && c401.retryIn === null, c401);
  const c401t = player.classify(new http.HttpError(401, ""), true, 1);
  check("401 with token says rejected", c401t.message === "Token rejected", c401t);
  const hevc = player.classify(new http.HttpError(422, "the stream's video is H265 but the offer only has VP8, H264, AV1"), false, 1);
  check("422 names H.265", hevc.message === "Your browser cannot decode H.265" && hevc.retryIn === null, hevc);
  const av1 = player.classify(new http.HttpError(422, "the stream's video is AV1 but the offer only has VP8, H265"), false, 1);
  check("422 names the stream's codec, not the offer's", av1.message === "Your browser cannot decode AV1", av1);
  const net = player.classify(new TypeError("Failed to fetch"), false, 3);
  check("network error retries with backoff", net.state === "reconnecting" && net.retryIn === 8 && /Cannot reach/.test(net.message), net);
  const busy = pub.classifyPublish(new http.HttpError(409, "stream already has an active publisher"), false, "H264", 1);
  check("publisher 409 says someone else publishes", /Someone else/.test(busy.message) && busy.retryIn > 0, busy);
  const codec = pub.classifyPublish(new http.HttpError(422, "no common codec"), false, "AV1", 1);
  check("publisher 422 names the codec", /cannot take AV1/.test(codec.message) && codec.retryIn === null, codec);

  // HTTP helpers.
  check("Retry-After seconds", http.parseRetryAfter("5") === 5, http.parseRetryAfter("5"));
  const date = http.parseRetryAfter(new Date(Date.now() + 10000).toUTCString());
  check("Retry-After date", date > 8 && date <= 10, date);
  check("Retry-After junk", http.parseRetryAfter("soon") === null, http.parseRetryAfter("soon"));
  const ice = http.parseIceServers('<stun:stun.example.net:3478>; rel="ice-server", <turn:t.example.net:3478?transport=udp>; rel="ice-server"; username="u1"; credential="p1"; credential-type="password", <https://x>; rel="urn:ietf:params:whip:ext:example"');
  check("Link ice-servers", ice.length === 2 && ice[1].urls === "turn:t.example.net:3478?transport=udp" && ice[1].username === "u1" && ice[1].credential === "p1", ice);

  // Trickle and ICE restart fragments (RFC 8840).
  const params = peer.iceParams(OFFER);
  check("ice params", params.ufrag === "Zhcm" && params.pwd === "TdYGMkm19wowdTCQij/QmSBO" && params.mid === "0", params);
  const frag = peer.buildFrag({ ...params, candidates: ["candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host"], end: true });
  check("frag", frag === "a=ice-ufrag:Zhcm\r\na=ice-pwd:TdYGMkm19wowdTCQij/QmSBO\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host\r\na=end-of-candidates\r\n", frag);
  const back = peer.parseFrag("a=ice-options:trickle\r\na=ice-ufrag:NEW\r\na=ice-pwd:newpwd\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:9 1 udp 1 127.0.0.1 9 typ host\r\n");
  check("parse frag", back.ufrag === "NEW" && back.pwd === "newpwd" && back.candidates.length === 1, back);
  const restarted = peer.replaceIce(OFFER, "NEW", "newpwd");
  check("replace ICE", !/a=candidate:/.test(restarted) && (restarted.match(/a=ice-ufrag:NEW\r\n/g) || []).length === 2 && !/Zhcm/.test(restarted), "old credentials or candidates left");

  // Publisher codec list and start bitrate.
  const caps = [
    { mimeType: "video/VP8", clockRate: 90000 },
    { mimeType: "video/rtx", clockRate: 90000 },
    { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640034" },
    { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f" },
    { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" },
  ];
  const pref = pub.preferredCodecs(caps, "H264").map((c) => `${c.mimeType} ${c.sdpFmtpLine || ""}`.trim());
  check("H.264 preference", pref.length === 3 && /42e01f/.test(pref[0]) && /640034/.test(pref[1]) && pref[2] === "video/rtx", pref);
  const answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fmtp:111 minptime=10\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=fmtp:96 packetization-mode=1\r\na=fmtp:97 apt=96\r\n";
  const sb = pub.withStartBitrate(answer, 1250);
  check("start bitrate on video only", sb.includes("a=fmtp:96 packetization-mode=1;x-google-start-bitrate=1250\r\n") && sb.includes("a=fmtp:111 minptime=10\r\n") && sb.includes("a=fmtp:97 apt=96\r\n"), sb);

  // Dashboard and overlay formatting.
  check("duration", [dash.formatDuration(5), dash.formatDuration(65), dash.formatDuration(3723), dash.formatDuration(90061)].join("|") === "5s|1m 05s|1h 02m|1d 1h", [dash.formatDuration(5), dash.formatDuration(65), dash.formatDuration(3723), dash.formatDuration(90061)]);
  const tr = dash.describeTrack({ kind: "audio", codec: "MPEG4-GENERIC", clock_rate: 44100, channels: 2, webrtc_playable: false, note: "AAC: not playable in browsers" });
  check("track note", tr === "MPEG4-GENERIC 44.1 kHz stereo (AAC: not playable in browsers)", tr);
  const tc = dash.describeTrack({ kind: "audio", codec: "MPEG4-GENERIC", clock_rate: 48000, channels: 2, webrtc_playable: true, note: "",
    transcode: { from: "AAC", to: "Opus", running: true } });
  check("transcoded track", tc === "MPEG4-GENERIC 48 kHz stereo (AAC → Opus, transcoding)", tc);
  const v = dash.describeViewers({ whep: 2, rtsp: 1 });
  check("viewers", v.total === 3 && v.text === "2 WHEP · 1 RTSP", v);
  check("bitrate format", stats.formatBitrate(2500000) === "2.5 Mbit/s" && stats.formatBitrate(64000) === "64 kbit/s", [stats.formatBitrate(2500000), stats.formatBitrate(64000)]);
  return { checks, failures };
})
