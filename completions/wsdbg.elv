
use builtin;
use str;

set edit:completion:arg-completer[wsdbg] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'wsdbg'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'wsdbg'= {
            cand -H 'Extra handshake header ''Name: value'' (repeatable)'
            cand --header 'Extra handshake header ''Name: value'' (repeatable)'
            cand -p 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable'
            cand --protocol 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable'
            cand --origin 'Origin header'
            cand --cacert 'Trust the CA certificates in this PEM file (besides the web roots)'
            cand --cert 'Client certificate chain (PEM) for mutual TLS; needs --key'
            cand --key 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert'
            cand --connect-timeout 'TCP + TLS + handshake deadline in seconds'
            cand --close-timeout 'Seconds to wait for the peer''s close reply'
            cand --max-size 'Largest message accepted; beyond it close with 1009'
            cand --proxy 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://'
            cand --compress 'Offer permessage-deflate and show what it did; =PARAMS to ask for more'
            cand -x 'Run CMD after connecting (repeatable), then close; stdin is not read'
            cand --execute 'Run CMD after connecting (repeatable), then close; stdin is not read'
            cand --linger 'Script mode: at end of input, close once the peer was quiet for MS'
            cand --chunk-size 'With --binary: largest binary message made from stdin [default: 65536, or --max-size when smaller]'
            cand --max-messages 'Deliver exactly N received data messages, then close and exit'
            cand --max-retries 'With --reconnect: give up after N failed attempts in a row'
            cand --backoff-min 'With --reconnect: first delay in milliseconds'
            cand --backoff-max 'With --reconnect: longest delay in milliseconds'
            cand --ping-interval 'Ping every SECS and show the round trip; no pong by the next = dead'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'Colour (NO_COLOR in the environment means never)'
            cand --timestamps 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none'
            cand --max-payload 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)'
            cand -k 'Do not verify the server certificate (prints a warning)'
            cand --insecure 'Do not verify the server certificate (prints a warning)'
            cand -L 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
            cand --follow-redirects 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
            cand --no-proxy 'Ignore the proxy environment variables'
            cand --keep-open 'Script mode: at end of input, stay until the peer closes (or Ctrl-C)'
            cand --fail-fast 'End the session (close 1000, exit 4) at the first failed /expect'
            cand -r 'Send every input line verbatim as a text message; no commands'
            cand --raw 'Send every input line verbatim as a text message; no commands'
            cand -b 'Script mode: stdin is raw bytes, sent as binary messages'
            cand --binary 'Script mode: stdin is raw bytes, sent as binary messages'
            cand --echo 'Send every data message received back as it came (a client-side mirror)'
            cand --no-auto-pong 'Do not answer pings (the pings are still shown)'
            cand --reconnect 'Reconnect with backoff and jitter after a disconnect not asked for'
            cand --json 'Same as --output json'
            cand -v 'Pretty output: also print the handshake headers'
            cand --verbose 'Pretty output: also print the handshake headers'
            cand --full 'Pretty output: show payloads in full, never cut'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand listen 'A local WebSocket echo server for trying things out (default 127.0.0.1:9001)'
            cand probe 'Check a server''s RFC 6455 conformance, one fresh connection per check'
            cand relay 'Relay each client to URL, showing every frame of both legs (on 127.0.0.1:9002)'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wsdbg;listen'= {
            cand --port 'Port to listen on (0 picks a free one and prints it)'
            cand --max-size 'Largest message accepted; beyond it close with 1009'
            cand --tls-cert 'Serve wss://: certificate chain (PEM); needs --tls-key'
            cand --tls-key 'Private key (PEM) for --tls-cert'
            cand -x 'Run this command when a client is connected (repeatable); stdin is not read'
            cand --execute 'Run this command when a client is connected (repeatable); stdin is not read'
            cand --greet 'Send TEXT to each client once it is connected'
            cand --close-after 'Close a client after N messages from it, with CODE (default 1000) and REASON'
            cand --delay 'Echo MS milliseconds late'
            cand --subprotocol 'Accept only this subprotocol: a client that does not offer it is refused (400)'
            cand -H 'Extra header ''Name: value'' in every answer to an upgrade request (repeatable)'
            cand --header 'Extra header ''Name: value'' in every answer to an upgrade request (repeatable)'
            cand --reject 'Refuse every upgrade with STATUS (and BODY), to test a client''s error path'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'Colour (NO_COLOR in the environment means never)'
            cand --timestamps 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none'
            cand --max-payload 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)'
            cand --compress 'Accept permessage-deflate (RFC 7692) when a client offers it, and echo compressed'
            cand --no-echo 'Do not echo what clients send'
            cand --no-pong 'Do not answer pings (they are still shown)'
            cand --once 'Exit when the first client leaves: 0 if its close was clean, else 3 (4 when a command did not run as written or an /expect failed)'
            cand --fail-fast 'End (close every client, exit 4) at the first failed /expect'
            cand --json 'Same as --output json'
            cand -v 'Pretty output: also print the handshake headers'
            cand --verbose 'Pretty output: also print the handshake headers'
            cand --full 'Pretty output: show payloads in full, never cut'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'wsdbg;probe'= {
            cand --wait 'Seconds each check waits for the server''s answer'
            cand --junit 'Also write the verdicts to FILE as a JUnit XML report (n/a as skipped)'
            cand -H 'Extra handshake header ''Name: value'' (repeatable)'
            cand --header 'Extra handshake header ''Name: value'' (repeatable)'
            cand -p 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable'
            cand --protocol 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable'
            cand --origin 'Origin header'
            cand --cacert 'Trust the CA certificates in this PEM file (besides the web roots)'
            cand --cert 'Client certificate chain (PEM) for mutual TLS; needs --key'
            cand --key 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert'
            cand --connect-timeout 'TCP + TLS + handshake deadline in seconds'
            cand --close-timeout 'Seconds to wait for the peer''s close reply'
            cand --max-size 'Largest message accepted; beyond it close with 1009'
            cand --proxy 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://'
            cand --compress 'Offer permessage-deflate and show what it did; =PARAMS to ask for more'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'Colour (NO_COLOR in the environment means never)'
            cand --timestamps 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none'
            cand --max-payload 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)'
            cand --echo-server 'Run the checks that need an echo server without detecting one'
            cand -k 'Do not verify the server certificate (prints a warning)'
            cand --insecure 'Do not verify the server certificate (prints a warning)'
            cand -L 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
            cand --follow-redirects 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
            cand --no-proxy 'Ignore the proxy environment variables'
            cand --json 'Same as --output json'
            cand -v 'Pretty output: also print the handshake headers'
            cand --verbose 'Pretty output: also print the handshake headers'
            cand --full 'Pretty output: show payloads in full, never cut'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'wsdbg;relay'= {
            cand --port 'Port to listen on (0 picks a free one and prints it)'
            cand --tls-cert 'Serve wss:// to the clients: certificate chain (PEM); needs --tls-key'
            cand --tls-key 'Private key (PEM) for --tls-cert'
            cand --delay 'Hold every forwarded frame MS milliseconds (latency)'
            cand -H 'Extra handshake header ''Name: value'' (repeatable)'
            cand --header 'Extra handshake header ''Name: value'' (repeatable)'
            cand -p 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable'
            cand --protocol 'Offer a subprotocol (Sec-WebSocket-Protocol), repeatable'
            cand --origin 'Origin header'
            cand --cacert 'Trust the CA certificates in this PEM file (besides the web roots)'
            cand --cert 'Client certificate chain (PEM) for mutual TLS; needs --key'
            cand --key 'Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert'
            cand --connect-timeout 'TCP + TLS + handshake deadline in seconds'
            cand --close-timeout 'Seconds to wait for the peer''s close reply'
            cand --max-size 'Largest message accepted; beyond it close with 1009'
            cand --proxy 'Proxy: http://[user:pass@]host:port, socks5:// or socks5h://'
            cand --compress 'Offer permessage-deflate and show what it did; =PARAMS to ask for more'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --color 'Colour (NO_COLOR in the environment means never)'
            cand --timestamps 'Time column: seconds since start, wall-clock time (RFC 3339 UTC, ms), or none'
            cand --max-payload 'Pretty output: cut payloads at N bytes (default: text 256, binary 64)'
            cand -k 'Do not verify the server certificate (prints a warning)'
            cand --insecure 'Do not verify the server certificate (prints a warning)'
            cand -L 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
            cand --follow-redirects 'Follow 3xx answers to the handshake (at most 10; wss -> ws refused)'
            cand --no-proxy 'Ignore the proxy environment variables'
            cand --json 'Same as --output json'
            cand -v 'Pretty output: also print the handshake headers'
            cand --verbose 'Pretty output: also print the handshake headers'
            cand --full 'Pretty output: show payloads in full, never cut'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'wsdbg;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'wsdbg;help'= {
            cand listen 'A local WebSocket echo server for trying things out (default 127.0.0.1:9001)'
            cand probe 'Check a server''s RFC 6455 conformance, one fresh connection per check'
            cand relay 'Relay each client to URL, showing every frame of both legs (on 127.0.0.1:9002)'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'wsdbg;help;listen'= {
        }
        &'wsdbg;help;probe'= {
        }
        &'wsdbg;help;relay'= {
        }
        &'wsdbg;help;completions'= {
        }
        &'wsdbg;help;help'= {
        }
    ]
    $completions[$command]
}
