
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'wsdbg' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'wsdbg'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'wsdbg' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra handshake header ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra handshake header ''Name: value'' (repeatable)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable')
            [CompletionResult]::new('--origin', '--origin', [CompletionResultType]::ParameterName, 'Origin header')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (besides the web roots)')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Client certificate chain (PEM) for mutual TLS; needs --key')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'TCP + TLS + handshake deadline in seconds')
            [CompletionResult]::new('--close-timeout', '--close-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the peer''s close reply')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest message accepted; beyond it close with 1009')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'Offer permessage-deflate and show what it did; =PARAMS to ask for more')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl''s')
            [CompletionResult]::new('--connect-to', '--connect-to', [CompletionResultType]::ParameterName, 'Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep HOST), as curl''s')
            [CompletionResult]::new('--header-cmd', '--header-cmd', [CompletionResultType]::ParameterName, 'Run CMD (sh -c) before every connection attempt; each line it prints is a header')
            [CompletionResult]::new('--cookie', '--cookie', [CompletionResultType]::ParameterName, 'Send these cookies: ''name=value; ...'', or a Netscape cookie file (as curl writes)')
            [CompletionResult]::new('--cookie-jar', '--cookie-jar', [CompletionResultType]::ParameterName, 'At the end, write every cookie sent or set (Netscape format, as curl''s)')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Run CMD after connecting (repeatable), then close; stdin is not read')
            [CompletionResult]::new('--execute', '--execute', [CompletionResultType]::ParameterName, 'Run CMD after connecting (repeatable), then close; stdin is not read')
            [CompletionResult]::new('--linger', '--linger', [CompletionResultType]::ParameterName, 'Script mode: at end of input, close once the peer was quiet for MS')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'With --binary: largest binary message made from stdin [default: 65536, or --max-size when smaller]')
            [CompletionResult]::new('--max-messages', '--max-messages', [CompletionResultType]::ParameterName, 'Deliver exactly N received data messages, then close and exit')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'With --reconnect: give up after N failed attempts in a row')
            [CompletionResult]::new('--backoff-min', '--backoff-min', [CompletionResultType]::ParameterName, 'With --reconnect: first delay in milliseconds')
            [CompletionResult]::new('--backoff-max', '--backoff-max', [CompletionResultType]::ParameterName, 'With --reconnect: longest delay in milliseconds')
            [CompletionResult]::new('--ping-interval', '--ping-interval', [CompletionResultType]::ParameterName, 'Ping every SECS and show the round trip; no pong by the next = dead')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour (NO_COLOR in the environment means never)')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Also write every event as JSON lines (the --json events) to FILE')
            [CompletionResult]::new('--har', '--har', [CompletionResultType]::ParameterName, 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)')
            [CompletionResult]::new('--max-payload', '--max-payload', [CompletionResultType]::ParameterName, 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server certificate (prints a warning)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server certificate (prints a warning)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)')
            [CompletionResult]::new('--follow-redirects', '--follow-redirects', [CompletionResultType]::ParameterName, 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)')
            [CompletionResult]::new('--no-proxy', '--no-proxy', [CompletionResultType]::ParameterName, 'Ignore the proxy environment variables')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--keep-open', '--keep-open', [CompletionResultType]::ParameterName, 'Script mode: at end of input, stay until the peer closes (or Ctrl-C)')
            [CompletionResult]::new('--fail-fast', '--fail-fast', [CompletionResultType]::ParameterName, 'End the session (close 1000, exit 4) at the first failed /expect')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Send every input line verbatim as a text message; no commands')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Send every input line verbatim as a text message; no commands')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Script mode: stdin is raw bytes, sent as binary messages')
            [CompletionResult]::new('--binary', '--binary', [CompletionResultType]::ParameterName, 'Script mode: stdin is raw bytes, sent as binary messages')
            [CompletionResult]::new('--echo', '--echo', [CompletionResultType]::ParameterName, 'Send every data message received back as it came (a client-side mirror)')
            [CompletionResult]::new('--no-auto-pong', '--no-auto-pong', [CompletionResultType]::ParameterName, 'Do not answer pings (the pings are still shown)')
            [CompletionResult]::new('--reconnect', '--reconnect', [CompletionResultType]::ParameterName, 'Reconnect with backoff and jitter after a disconnect not asked for')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --output json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Pretty output: show payloads in full, never cut')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('listen', 'listen', [CompletionResultType]::ParameterValue, 'A local WebSocket echo server for trying things out (default 127.0.0.1:9001)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Check a server''s RFC 6455 conformance, one fresh connection per check')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Relay each client to URL, showing every frame of both legs (on 127.0.0.1:9002)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Play the client''s side of a recording against URL and compare the replies')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wsdbg;listen' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (0 picks a free one and prints it)')
            [CompletionResult]::new('--unix', '--unix', [CompletionResultType]::ParameterName, 'Listen on this Unix socket instead of a port (removed again at exit); clients reach it as ws+unix:///PATH')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest message accepted; beyond it close with 1009')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve wss://: certificate chain (PEM); needs --tls-key')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'Private key (PEM) for --tls-cert')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Run this command when a client is connected (repeatable); stdin is not read')
            [CompletionResult]::new('--execute', '--execute', [CompletionResultType]::ParameterName, 'Run this command when a client is connected (repeatable); stdin is not read')
            [CompletionResult]::new('--greet', '--greet', [CompletionResultType]::ParameterName, 'Send TEXT to each client once it is connected')
            [CompletionResult]::new('--close-after', '--close-after', [CompletionResultType]::ParameterName, 'Close a client after N messages from it, with CODE (default 1000) and REASON')
            [CompletionResult]::new('--delay', '--delay', [CompletionResultType]::ParameterName, 'Echo MS milliseconds late')
            [CompletionResult]::new('--subprotocol', '--subprotocol', [CompletionResultType]::ParameterName, 'Accept only this subprotocol: a client that does not offer it is refused (400)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra header ''Name: value'' in every answer to an upgrade request (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra header ''Name: value'' in every answer to an upgrade request (repeatable)')
            [CompletionResult]::new('--reject', '--reject', [CompletionResultType]::ParameterName, 'Refuse every upgrade with STATUS (and BODY), to test a client''s error path')
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Mock server: play the server''s side of a recording (--record JSON lines or a HAR) to each client, comparing what it sends with what the recording''s client sent (no echo; with --once, exit 4 when the client deviated)')
            [CompletionResult]::new('--timing', '--timing', [CompletionResultType]::ParameterName, '--replay: original (the recorded pauses before each reply) or fast')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, '--replay: leave what REGEX matches out of the comparison (repeatable)')
            [CompletionResult]::new('--ignore-json', '--ignore-json', [CompletionResultType]::ParameterName, '--replay: leave this field of JSON messages out of the comparison (repeatable)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour (NO_COLOR in the environment means never)')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Also write every event as JSON lines (the --json events) to FILE')
            [CompletionResult]::new('--har', '--har', [CompletionResultType]::ParameterName, 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)')
            [CompletionResult]::new('--max-payload', '--max-payload', [CompletionResultType]::ParameterName, 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'Accept permessage-deflate (RFC 7692) when a client offers it, and echo compressed')
            [CompletionResult]::new('--no-echo', '--no-echo', [CompletionResultType]::ParameterName, 'Do not echo what clients send')
            [CompletionResult]::new('--no-pong', '--no-pong', [CompletionResultType]::ParameterName, 'Do not answer pings (they are still shown)')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Exit when the first client leaves: 0 if its close was clean, else 3 (4 when a command did not run as written or an /expect failed)')
            [CompletionResult]::new('--fail-fast', '--fail-fast', [CompletionResultType]::ParameterName, 'End (close every client, exit 4) at the first failed /expect')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --output json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Pretty output: show payloads in full, never cut')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'wsdbg;probe' {
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Seconds each check waits for the server''s answer')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Also write the verdicts to FILE as a JUnit XML report (n/a as skipped)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra handshake header ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra handshake header ''Name: value'' (repeatable)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable')
            [CompletionResult]::new('--origin', '--origin', [CompletionResultType]::ParameterName, 'Origin header')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (besides the web roots)')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Client certificate chain (PEM) for mutual TLS; needs --key')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'TCP + TLS + handshake deadline in seconds')
            [CompletionResult]::new('--close-timeout', '--close-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the peer''s close reply')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest message accepted; beyond it close with 1009')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'Offer permessage-deflate and show what it did; =PARAMS to ask for more')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl''s')
            [CompletionResult]::new('--connect-to', '--connect-to', [CompletionResultType]::ParameterName, 'Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep HOST), as curl''s')
            [CompletionResult]::new('--header-cmd', '--header-cmd', [CompletionResultType]::ParameterName, 'Run CMD (sh -c) before every connection attempt; each line it prints is a header')
            [CompletionResult]::new('--cookie', '--cookie', [CompletionResultType]::ParameterName, 'Send these cookies: ''name=value; ...'', or a Netscape cookie file (as curl writes)')
            [CompletionResult]::new('--cookie-jar', '--cookie-jar', [CompletionResultType]::ParameterName, 'At the end, write every cookie sent or set (Netscape format, as curl''s)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour (NO_COLOR in the environment means never)')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Also write every event as JSON lines (the --json events) to FILE')
            [CompletionResult]::new('--har', '--har', [CompletionResultType]::ParameterName, 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)')
            [CompletionResult]::new('--max-payload', '--max-payload', [CompletionResultType]::ParameterName, 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)')
            [CompletionResult]::new('--echo-server', '--echo-server', [CompletionResultType]::ParameterName, 'Run the checks that need an echo server without detecting one')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server certificate (prints a warning)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server certificate (prints a warning)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)')
            [CompletionResult]::new('--follow-redirects', '--follow-redirects', [CompletionResultType]::ParameterName, 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)')
            [CompletionResult]::new('--no-proxy', '--no-proxy', [CompletionResultType]::ParameterName, 'Ignore the proxy environment variables')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --output json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Pretty output: show payloads in full, never cut')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'wsdbg;relay' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (0 picks a free one and prints it)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve wss:// to the clients: certificate chain (PEM); needs --tls-key')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'Private key (PEM) for --tls-cert')
            [CompletionResult]::new('--delay', '--delay', [CompletionResultType]::ParameterName, 'Hold every forwarded frame MS milliseconds (latency)')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Run this command once a pair is open (repeatable); stdin is not read')
            [CompletionResult]::new('--execute', '--execute', [CompletionResultType]::ParameterName, 'Run this command once a pair is open (repeatable); stdin is not read')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra handshake header ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra handshake header ''Name: value'' (repeatable)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable')
            [CompletionResult]::new('--origin', '--origin', [CompletionResultType]::ParameterName, 'Origin header')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (besides the web roots)')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Client certificate chain (PEM) for mutual TLS; needs --key')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'TCP + TLS + handshake deadline in seconds')
            [CompletionResult]::new('--close-timeout', '--close-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the peer''s close reply')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest message accepted; beyond it close with 1009')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'Offer permessage-deflate and show what it did; =PARAMS to ask for more')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl''s')
            [CompletionResult]::new('--connect-to', '--connect-to', [CompletionResultType]::ParameterName, 'Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep HOST), as curl''s')
            [CompletionResult]::new('--header-cmd', '--header-cmd', [CompletionResultType]::ParameterName, 'Run CMD (sh -c) before every connection attempt; each line it prints is a header')
            [CompletionResult]::new('--cookie', '--cookie', [CompletionResultType]::ParameterName, 'Send these cookies: ''name=value; ...'', or a Netscape cookie file (as curl writes)')
            [CompletionResult]::new('--cookie-jar', '--cookie-jar', [CompletionResultType]::ParameterName, 'At the end, write every cookie sent or set (Netscape format, as curl''s)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour (NO_COLOR in the environment means never)')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Also write every event as JSON lines (the --json events) to FILE')
            [CompletionResult]::new('--har', '--har', [CompletionResultType]::ParameterName, 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)')
            [CompletionResult]::new('--max-payload', '--max-payload', [CompletionResultType]::ParameterName, 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server certificate (prints a warning)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server certificate (prints a warning)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)')
            [CompletionResult]::new('--follow-redirects', '--follow-redirects', [CompletionResultType]::ParameterName, 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)')
            [CompletionResult]::new('--no-proxy', '--no-proxy', [CompletionResultType]::ParameterName, 'Ignore the proxy environment variables')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --output json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Pretty output: show payloads in full, never cut')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'wsdbg;replay' {
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Leave out of the comparison what REGEX matches in a recorded text reply (times, ids): the reply may have anything REGEX matches there (repeatable)')
            [CompletionResult]::new('--ignore-json', '--ignore-json', [CompletionResultType]::ParameterName, 'Leave this field out of the comparison of JSON replies (repeatable): a.b, $.items[0].id, data.*.ts')
            [CompletionResult]::new('--timing', '--timing', [CompletionResultType]::ParameterName, 'fast: send each message as soon as the replies before it came; original: with the recorded pauses between them')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra handshake header ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra handshake header ''Name: value'' (repeatable)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable')
            [CompletionResult]::new('--origin', '--origin', [CompletionResultType]::ParameterName, 'Origin header')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (besides the web roots)')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Client certificate chain (PEM) for mutual TLS; needs --key')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'TCP + TLS + handshake deadline in seconds')
            [CompletionResult]::new('--close-timeout', '--close-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the peer''s close reply')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest message accepted; beyond it close with 1009')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'Offer permessage-deflate and show what it did; =PARAMS to ask for more')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR for HOST:PORT (Host, SNI and the certificate keep HOST), as curl''s')
            [CompletionResult]::new('--connect-to', '--connect-to', [CompletionResultType]::ParameterName, 'Connect to HOST2:PORT2 instead of HOST:PORT (Host, SNI and the certificate keep HOST), as curl''s')
            [CompletionResult]::new('--header-cmd', '--header-cmd', [CompletionResultType]::ParameterName, 'Run CMD (sh -c) before every connection attempt; each line it prints is a header')
            [CompletionResult]::new('--cookie', '--cookie', [CompletionResultType]::ParameterName, 'Send these cookies: ''name=value; ...'', or a Netscape cookie file (as curl writes)')
            [CompletionResult]::new('--cookie-jar', '--cookie-jar', [CompletionResultType]::ParameterName, 'At the end, write every cookie sent or set (Netscape format, as curl''s)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour (NO_COLOR in the environment means never)')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Also write every event as JSON lines (the --json events) to FILE')
            [CompletionResult]::new('--har', '--har', [CompletionResultType]::ParameterName, 'Also write the session as HAR 1.2 to FILE at the end (the handshake, and the messages in _webSocketMessages as browsers save them)')
            [CompletionResult]::new('--max-payload', '--max-payload', [CompletionResultType]::ParameterName, 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)')
            [CompletionResult]::new('--to-script', '--to-script', [CompletionResultType]::ParameterName, 'Print the recording as a script of the command grammar (sends and /expect lines) instead of running it')
            [CompletionResult]::new('--fail-fast', '--fail-fast', [CompletionResultType]::ParameterName, 'Stop at the first reply that differs (close 1000, exit 4)')
            [CompletionResult]::new('--headers-from-recording', '--headers-from-recording', [CompletionResultType]::ParameterName, 'Send the handshake headers the recording''s client sent (cookies, Origin, Authorization, subprotocols...; -H wins over them)')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server certificate (prints a warning)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server certificate (prints a warning)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)')
            [CompletionResult]::new('--follow-redirects', '--follow-redirects', [CompletionResultType]::ParameterName, 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)')
            [CompletionResult]::new('--no-proxy', '--no-proxy', [CompletionResultType]::ParameterName, 'Ignore the proxy environment variables')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Use IPv4 addresses only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Use IPv6 addresses only')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --output json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Pretty output: also print the handshake headers')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Pretty output: show payloads in full, never cut')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'wsdbg;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'wsdbg;help' {
            [CompletionResult]::new('listen', 'listen', [CompletionResultType]::ParameterValue, 'A local WebSocket echo server for trying things out (default 127.0.0.1:9001)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Check a server''s RFC 6455 conformance, one fresh connection per check')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Relay each client to URL, showing every frame of both legs (on 127.0.0.1:9002)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Play the client''s side of a recording against URL and compare the replies')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'wsdbg;help;listen' {
            break
        }
        'wsdbg;help;probe' {
            break
        }
        'wsdbg;help;relay' {
            break
        }
        'wsdbg;help;replay' {
            break
        }
        'wsdbg;help;completions' {
            break
        }
        'wsdbg;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
