# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_wsdbg_global_optspecs
    string join \n H/header= p/protocol= origin= cacert= k/insecure cert= key= connect-timeout= close-timeout= max-size= L/follow-redirects proxy= compress= no-proxy resolve= connect-to= header-cmd= cookie= cookie-jar= 4/ipv4 6/ipv6 x/execute= keep-open linger= fail-fast r/raw b/binary chunk-size= max-messages= echo no-auto-pong reconnect max-retries= backoff-min= backoff-max= ping-interval= o/output= json color= v/verbose timestamps= full record= har= max-payload= proto= hide= filter= h/help V/version
end

function __fish_wsdbg_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_wsdbg_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_wsdbg_using_subcommand
    set -l cmd (__fish_wsdbg_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c wsdbg -n "__fish_wsdbg_needs_command" -s H -l header -d 'Extra handshake header \'Name: value\' (repeatable)' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s p -l protocol -d 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l origin -d 'Origin header' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l cacert -d 'Trust the CA certificates in this PEM file (besides the web roots)' -r -F
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l cert -d 'Client certificate chain (PEM) for mutual TLS; needs --key' -r -F
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l key -d 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert' -r -F
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l connect-timeout -d 'TCP + TLS + handshake deadline in seconds' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l close-timeout -d 'Seconds to wait for the peer\'s close reply' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l max-size -d 'Largest message accepted; beyond it close with 1009' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l proxy -d 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l compress -d 'Offer permessage-deflate and show what it did; =PARAMS to ask for more' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l resolve -d 'Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl\'s' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l connect-to -d 'Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep HOST), as curl\'s' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l header-cmd -d 'Run CMD (sh -c) before every connection attempt; each line it prints is a header' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l cookie -d 'Send these cookies: \'name=value; ...\', or a Netscape cookie file (as curl writes)' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l cookie-jar -d 'At the end, write every cookie sent or set (Netscape format, as curl\'s)' -r -F
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s x -l execute -d 'Run CMD after connecting (repeatable), then close; stdin is not read' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l linger -d 'Script mode: at end of input, close once the peer was quiet for MS' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l chunk-size -d 'With --binary: largest binary message made from stdin [default: 65536, or --max-size when smaller]' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l max-messages -d 'Deliver exactly N received data messages, then close and exit' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l max-retries -d 'With --reconnect: give up after N failed attempts in a row' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l backoff-min -d 'With --reconnect: first delay in milliseconds' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l backoff-max -d 'With --reconnect: longest delay in milliseconds' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l ping-interval -d 'Ping every SECS and show the round trip; no pong by the next = dead' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s o -l output -d 'Output format' -r -f -a "pretty\t'Every frame both ways, one line each, for people'
json\t'One JSON object per line, first key "event"'
payload\t'Each received message\'s payload, one per line (binary as hex)'
raw\t'Each received message\'s payload as bytes, nothing added'"
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l color -d 'Colour (NO_COLOR in the environment means never)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l timestamps -d 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none' -r -f -a "relative\t'Seconds since start'
wall\t'Wall-clock time, RFC 3339 in UTC with milliseconds'
none\t'No time column'"
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l record -d 'Also write every event as JSON lines (the --json events) to FILE' -r -F
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l har -d 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)' -r -F
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l max-payload -d 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l proto -d 'Decode the application protocol inside the frames: auto (from the subprotocol or the URL), raw, socketio, graphql-ws, stomp, signalr, mqtt, jsonrpc' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l hide -d 'Do not show these (comma-separated, repeatable): heartbeat (the protocol\'s keep-alives), ping, pong; they are still received, counted and recorded' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l filter -d 'Show only data messages that match: REGEX (the text, hex for binary, or a decoded packet), or PATH=VALUE (a JSON field)' -r
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s k -l insecure -d 'Do not verify the server certificate (prints a warning)'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s L -l follow-redirects -d 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l no-proxy -d 'Ignore the proxy environment variables'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l keep-open -d 'Script mode: at end of input, stay until the peer closes (or Ctrl-C)'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l fail-fast -d 'End the session (close 1000, exit 4) at the first failed /expect'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s r -l raw -d 'Send every input line verbatim as a text message; no commands'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s b -l binary -d 'Script mode: stdin is raw bytes, sent as binary messages'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l echo -d 'Send every data message received back as it came (a client-side mirror)'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l no-auto-pong -d 'Do not answer pings (the pings are still shown)'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l reconnect -d 'Reconnect with backoff and jitter after a disconnect not asked for'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l json -d 'Same as --output json'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s v -l verbose -d 'Pretty output: also print the handshake headers'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -l full -d 'Pretty output: show payloads in full, never cut'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -s V -l version -d 'Print version'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -a "listen" -d 'A local WebSocket echo server for trying things out (default 127.0.0.1:9001)'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -a "probe" -d 'Check a server\'s RFC 6455 conformance, one fresh connection per check'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -a "relay" -d 'Relay each client to URL, showing every frame of both legs (on 127.0.0.1:9002)'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -a "replay" -d 'Play the client\'s side of a recording against URL and compare the replies'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -a "completions" -d 'Print a shell completion script'
complete -c wsdbg -n "__fish_wsdbg_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l port -d 'Port to listen on (0 picks a free one and prints it)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l unix -d 'Listen on this Unix socket instead of a port (removed again at exit); clients reach it as ws+unix:///PATH' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l max-size -d 'Largest message accepted; beyond it close with 1009' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l tls-cert -d 'Serve wss://: certificate chain (PEM); needs --tls-key' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l tls-key -d 'Private key (PEM) for --tls-cert' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -s x -l execute -d 'Run this command when a client is connected (repeatable); stdin is not read' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l greet -d 'Send TEXT to each client once it is connected' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l close-after -d 'Close a client after N messages from it, with CODE (default 1000) and REASON' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l delay -d 'Echo MS milliseconds late' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l subprotocol -d 'Accept only this subprotocol: a client that does not offer it is refused (400)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -s H -l header -d 'Extra header \'Name: value\' in every answer to an upgrade request (repeatable)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l reject -d 'Refuse every upgrade with STATUS (and BODY), to test a client\'s error path' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l replay -d 'Mock server: play the server\'s side of a recording (--record JSON lines or a HAR) to each client, comparing what it sends with what the recording\'s client sent (no echo; with --once, exit 4 when the client deviated)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l timing -d '--replay: original (the recorded pauses before each reply) or fast' -r -f -a "fast\t''
original\t''"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l ignore -d '--replay: leave what REGEX matches out of the comparison (repeatable)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l ignore-json -d '--replay: leave this field of JSON messages out of the comparison (repeatable)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -s o -l output -d 'Output format' -r -f -a "pretty\t'Every frame both ways, one line each, for people'
json\t'One JSON object per line, first key "event"'
payload\t'Each received message\'s payload, one per line (binary as hex)'
raw\t'Each received message\'s payload as bytes, nothing added'"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l color -d 'Colour (NO_COLOR in the environment means never)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l timestamps -d 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none' -r -f -a "relative\t'Seconds since start'
wall\t'Wall-clock time, RFC 3339 in UTC with milliseconds'
none\t'No time column'"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l record -d 'Also write every event as JSON lines (the --json events) to FILE' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l har -d 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l max-payload -d 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l proto -d 'Decode the application protocol inside the frames: auto (from the subprotocol or the URL), raw, socketio, graphql-ws, stomp, signalr, mqtt, jsonrpc' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l hide -d 'Do not show these (comma-separated, repeatable): heartbeat (the protocol\'s keep-alives), ping, pong; they are still received, counted and recorded' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l filter -d 'Show only data messages that match: REGEX (the text, hex for binary, or a decoded packet), or PATH=VALUE (a JSON field)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l compress -d 'Accept permessage-deflate (RFC 7692) when a client offers it, and echo compressed'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l no-echo -d 'Do not echo what clients send'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l no-pong -d 'Do not answer pings (they are still shown)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l once -d 'Exit when the first client leaves: 0 if its close was clean, else 3 (4 when a command did not run as written or an /expect failed)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l fail-fast -d 'End (close every client, exit 4) at the first failed /expect'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l json -d 'Same as --output json'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -s v -l verbose -d 'Pretty output: also print the handshake headers'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -l full -d 'Pretty output: show payloads in full, never cut'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand listen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l wait -d 'Seconds each check waits for the server\'s answer' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l junit -d 'Also write the verdicts to FILE as a JUnit XML report (n/a as skipped)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s H -l header -d 'Extra handshake header \'Name: value\' (repeatable)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s p -l protocol -d 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l origin -d 'Origin header' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l cacert -d 'Trust the CA certificates in this PEM file (besides the web roots)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l cert -d 'Client certificate chain (PEM) for mutual TLS; needs --key' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l key -d 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l connect-timeout -d 'TCP + TLS + handshake deadline in seconds' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l close-timeout -d 'Seconds to wait for the peer\'s close reply' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l max-size -d 'Largest message accepted; beyond it close with 1009' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l proxy -d 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l compress -d 'Offer permessage-deflate and show what it did; =PARAMS to ask for more' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l resolve -d 'Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl\'s' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l connect-to -d 'Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep HOST), as curl\'s' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l header-cmd -d 'Run CMD (sh -c) before every connection attempt; each line it prints is a header' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l cookie -d 'Send these cookies: \'name=value; ...\', or a Netscape cookie file (as curl writes)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l cookie-jar -d 'At the end, write every cookie sent or set (Netscape format, as curl\'s)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s o -l output -d 'Output format' -r -f -a "pretty\t'Every frame both ways, one line each, for people'
json\t'One JSON object per line, first key "event"'
payload\t'Each received message\'s payload, one per line (binary as hex)'
raw\t'Each received message\'s payload as bytes, nothing added'"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l color -d 'Colour (NO_COLOR in the environment means never)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l timestamps -d 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none' -r -f -a "relative\t'Seconds since start'
wall\t'Wall-clock time, RFC 3339 in UTC with milliseconds'
none\t'No time column'"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l record -d 'Also write every event as JSON lines (the --json events) to FILE' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l har -d 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l max-payload -d 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l proto -d 'Decode the application protocol inside the frames: auto (from the subprotocol or the URL), raw, socketio, graphql-ws, stomp, signalr, mqtt, jsonrpc' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l hide -d 'Do not show these (comma-separated, repeatable): heartbeat (the protocol\'s keep-alives), ping, pong; they are still received, counted and recorded' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l filter -d 'Show only data messages that match: REGEX (the text, hex for binary, or a decoded packet), or PATH=VALUE (a JSON field)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l echo-server -d 'Run the checks that need an echo server without detecting one'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s k -l insecure -d 'Do not verify the server certificate (prints a warning)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s L -l follow-redirects -d 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l no-proxy -d 'Ignore the proxy environment variables'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l json -d 'Same as --output json'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s v -l verbose -d 'Pretty output: also print the handshake headers'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -l full -d 'Pretty output: show payloads in full, never cut'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l port -d 'Port to listen on (0 picks a free one and prints it)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l tls-cert -d 'Serve wss:// to the clients: certificate chain (PEM); needs --tls-key' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l tls-key -d 'Private key (PEM) for --tls-cert' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l delay -d 'Hold every forwarded frame MS milliseconds (latency)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s x -l execute -d 'Run this command once a pair is open (repeatable); stdin is not read' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s H -l header -d 'Extra handshake header \'Name: value\' (repeatable)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s p -l protocol -d 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l origin -d 'Origin header' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l cacert -d 'Trust the CA certificates in this PEM file (besides the web roots)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l cert -d 'Client certificate chain (PEM) for mutual TLS; needs --key' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l key -d 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l connect-timeout -d 'TCP + TLS + handshake deadline in seconds' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l close-timeout -d 'Seconds to wait for the peer\'s close reply' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l max-size -d 'Largest message accepted; beyond it close with 1009' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l proxy -d 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l compress -d 'Offer permessage-deflate and show what it did; =PARAMS to ask for more' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l resolve -d 'Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl\'s' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l connect-to -d 'Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep HOST), as curl\'s' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l header-cmd -d 'Run CMD (sh -c) before every connection attempt; each line it prints is a header' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l cookie -d 'Send these cookies: \'name=value; ...\', or a Netscape cookie file (as curl writes)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l cookie-jar -d 'At the end, write every cookie sent or set (Netscape format, as curl\'s)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s o -l output -d 'Output format' -r -f -a "pretty\t'Every frame both ways, one line each, for people'
json\t'One JSON object per line, first key "event"'
payload\t'Each received message\'s payload, one per line (binary as hex)'
raw\t'Each received message\'s payload as bytes, nothing added'"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l color -d 'Colour (NO_COLOR in the environment means never)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l timestamps -d 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none' -r -f -a "relative\t'Seconds since start'
wall\t'Wall-clock time, RFC 3339 in UTC with milliseconds'
none\t'No time column'"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l record -d 'Also write every event as JSON lines (the --json events) to FILE' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l har -d 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l max-payload -d 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l proto -d 'Decode the application protocol inside the frames: auto (from the subprotocol or the URL), raw, socketio, graphql-ws, stomp, signalr, mqtt, jsonrpc' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l hide -d 'Do not show these (comma-separated, repeatable): heartbeat (the protocol\'s keep-alives), ping, pong; they are still received, counted and recorded' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l filter -d 'Show only data messages that match: REGEX (the text, hex for binary, or a decoded packet), or PATH=VALUE (a JSON field)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s k -l insecure -d 'Do not verify the server certificate (prints a warning)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s L -l follow-redirects -d 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l no-proxy -d 'Ignore the proxy environment variables'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l json -d 'Same as --output json'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s v -l verbose -d 'Pretty output: also print the handshake headers'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -l full -d 'Pretty output: show payloads in full, never cut'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand relay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l ignore -d 'Leave out of the comparison what REGEX matches in a recorded text reply (times, ids): the reply may have anything REGEX matches there (repeatable)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l ignore-json -d 'Leave this field out of the comparison of JSON replies (repeatable): a.b, $.items[0].id, data.*.ts' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l timing -d 'fast: send each message as soon as the replies before it came; original: with the recorded pauses between them' -r -f -a "fast\t''
original\t''"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s H -l header -d 'Extra handshake header \'Name: value\' (repeatable)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s p -l protocol -d 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l origin -d 'Origin header' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l cacert -d 'Trust the CA certificates in this PEM file (besides the web roots)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l cert -d 'Client certificate chain (PEM) for mutual TLS; needs --key' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l key -d 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l connect-timeout -d 'TCP + TLS + handshake deadline in seconds' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l close-timeout -d 'Seconds to wait for the peer\'s close reply' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l max-size -d 'Largest message accepted; beyond it close with 1009' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l proxy -d 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l compress -d 'Offer permessage-deflate and show what it did; =PARAMS to ask for more' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l resolve -d 'Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl\'s' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l connect-to -d 'Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep HOST), as curl\'s' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l header-cmd -d 'Run CMD (sh -c) before every connection attempt; each line it prints is a header' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l cookie -d 'Send these cookies: \'name=value; ...\', or a Netscape cookie file (as curl writes)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l cookie-jar -d 'At the end, write every cookie sent or set (Netscape format, as curl\'s)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s o -l output -d 'Output format' -r -f -a "pretty\t'Every frame both ways, one line each, for people'
json\t'One JSON object per line, first key "event"'
payload\t'Each received message\'s payload, one per line (binary as hex)'
raw\t'Each received message\'s payload as bytes, nothing added'"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l color -d 'Colour (NO_COLOR in the environment means never)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l timestamps -d 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none' -r -f -a "relative\t'Seconds since start'
wall\t'Wall-clock time, RFC 3339 in UTC with milliseconds'
none\t'No time column'"
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l record -d 'Also write every event as JSON lines (the --json events) to FILE' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l har -d 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)' -r -F
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l max-payload -d 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l proto -d 'Decode the application protocol inside the frames: auto (from the subprotocol or the URL), raw, socketio, graphql-ws, stomp, signalr, mqtt, jsonrpc' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l hide -d 'Do not show these (comma-separated, repeatable): heartbeat (the protocol\'s keep-alives), ping, pong; they are still received, counted and recorded' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l filter -d 'Show only data messages that match: REGEX (the text, hex for binary, or a decoded packet), or PATH=VALUE (a JSON field)' -r
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l to-script -d 'Print the recording as a script of the command grammar (sends and /expect lines) instead of running it'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l fail-fast -d 'Stop at the first reply that differs (close 1000, exit 4)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l headers-from-recording -d 'Send the handshake headers the recording\'s client sent (cookies, Origin, Authorization, subprotocols...; -H wins over them)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s k -l insecure -d 'Do not verify the server certificate (prints a warning)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s L -l follow-redirects -d 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l no-proxy -d 'Ignore the proxy environment variables'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s 4 -l ipv4 -d 'Use IPv4 addresses only'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s 6 -l ipv6 -d 'Use IPv6 addresses only'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l json -d 'Same as --output json'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s v -l verbose -d 'Pretty output: also print the handshake headers'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -l full -d 'Pretty output: show payloads in full, never cut'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand replay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand completions" -s h -l help -d 'Print help'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand help; and not __fish_seen_subcommand_from listen probe relay replay completions help" -f -a "listen" -d 'A local WebSocket echo server for trying things out (default 127.0.0.1:9001)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand help; and not __fish_seen_subcommand_from listen probe relay replay completions help" -f -a "probe" -d 'Check a server\'s RFC 6455 conformance, one fresh connection per check'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand help; and not __fish_seen_subcommand_from listen probe relay replay completions help" -f -a "relay" -d 'Relay each client to URL, showing every frame of both legs (on 127.0.0.1:9002)'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand help; and not __fish_seen_subcommand_from listen probe relay replay completions help" -f -a "replay" -d 'Play the client\'s side of a recording against URL and compare the replies'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand help; and not __fish_seen_subcommand_from listen probe relay replay completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c wsdbg -n "__fish_wsdbg_using_subcommand help; and not __fish_seen_subcommand_from listen probe relay replay completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
