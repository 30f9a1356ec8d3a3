module github.com/gosspi/sspi

go 1.26.0

require golang.org/x/crypto v0.58.0

require github.com/jcmturner/gokrb5/v8 v8.4.4 // indirect
