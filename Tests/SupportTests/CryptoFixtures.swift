// Fixtures generated once with the OpenSSL 3.0 command line tool, so the Crypto module is checked against an
// independent implementation:
//   openssl genrsa -traditional 2048                      (rsaPKCS1)
//   openssl pkcs8 -topk8 -nocrypt                         (rsaPKCS8)
//   openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:correct-horse   (rsaEncryptedPKCS8)
//   openssl req -x509 -new -key rsaPKCS1 -subj /CN=fixture.test -days 36500 -sha256   (certificate)
//   openssl dgst -sha256 -sign rsaPKCS1 over messageSigned (signatureBase64URL)
//   openssl x509 -fingerprint -sha1 / -sha256               (thumbprints)
//   openssl ecparam -name prime256v1 -genkey | openssl pkcs8 -topk8 -nocrypt   (ecPKCS8)
// The keys exist only for these tests.
enum CryptoFixtures {
    static let rsaPKCS1 = """
        -----BEGIN RSA PRIVATE KEY-----
        MIIEowIBAAKCAQEAo0RCgibBK7SrEDvTe1xkLiVnGlt8ft/0s3p9dpsFm1z5W/Du
        kz3qY4LuhoW9FUrdbsCJBLcTxxDO1gesRoAY+TPDlSBiHFTHgwFsvH/CdanihLRB
        FZqfMMS75nZjCGuHqAJXZbwARIPRLmgEr2NfSDKZBOfxB2RvQekYgXKuWfEQPyUY
        zSXQ36sxUMq1b2j3RMyAF1w3ElfMYV5UYaNgaiw4dDGFaVUkavqKdqaf1u0iAV30
        sJ74KrX9mXEH/LxSEPjPaSw9Zmzc0H8Yg3Oh1mZYqjto9rCLruQ460Rtzn1P+JHB
        HDdYKM9XdckMFr20bBcXAefkZrwV2rD5I2wHowIDAQABAoIBAAWakiS/s9trwPX2
        kPK5Ha3DpPal03SrheEyFiPMEB60JFtkAyHXMTz9iNP1bPI0VrwxiadXC/CyZ2oa
        EnkGYp7l1zY0omDUfEOCW27RpD3sLytOB8kVnyAAR26cVAQ9UJrwso5mjn18xJxO
        bBE04Zyc4/rQPnFwPhmCY8YNWm+jbLEDXTdedp0FvI8JGTOMKQhttiztPWnaa0S1
        lySxc2bG1Uy4MpQ/FV471FsvgbK5BVdRZkn7VkT49SHcB5gGfjnL4GSrf0S5gefi
        ZHgbXcDr4gDUTp5XehrZJc7qRcIFwGmLFAmkAuOjf/f12TgEFSm7H8DeRXKnTuBD
        Aku3hY0CgYEA0uXuOXCU2ie30qhCyYroayq48yPDJvp7fYx3Zd4v3X+RO9FeBxUL
        DySXcZLtVfDXs4NVdZlPSUjN3XtLWPJJYCsnF1gS8cB9foiq5Yz/t4YNSgeyrIul
        puNZCPgOhchJ+FhgqU18gZG8rDRa/qExXMmkLLMvNi3xP8HqkI0ze6cCgYEAxi6j
        zI6Rf/DT08YsQyuYPrdVibxv+q659H1E73zrIjUHxNRhcULOTzOc226cMq2MnGI0
        zac7ahce5OJyHoNJ+fnI+mJ7twNQGR2jY1/f0NdEnHMBm/vVYl/scZ0nkaDxIa7F
        9NgI2FrFsU80LuhXOyNs12zYyCttB53ipwKuo6UCgYB/3tmqChC2lQ5ns42LFaYG
        FEk/YpeYspbdcKWUJjtvWUF9u1v/f0rNS6pnOmacjQK73Q2b1/CyxmnLuE3fCEhk
        /sUc6lHSMpvkdIjp1avWYnj8Qd6br7AomAAL6BsmEmKHKU6yWED9bpeu8a+aY7HC
        SKA6WgpuFz0HI1RNgM+OUQKBgQCjdTh4sWZkphew5hT/2ecaY1BT6G5bzt1lQCUp
        eljdv+uGdr1gE3/iZ2mKuzJtwiLloUJ4FOS2XheHJRaHADZ1zYXsrmnnyv23mXB3
        uE38DHF0sI61PwMCvqdgFgTa4mnAJEz143F4MXY5BmC+B7ha+J7/F7G9d8PXsmuM
        4HN2WQKBgCkLnC0YTCBxQndjPBAISmEP1m9we5C5+6wRI/Di9G58+nYMbeOf41ZJ
        acXI9Jtc99aL+UG89upAdwfqEzPG2tIeHLmlyaHRHDAZXPQjasi6loAqjcHzuCmg
        xfNJTuoKkkjcssn+DVJih69IshsWQZBIvvljGyIx/4V1ReSHXE9r
        -----END RSA PRIVATE KEY-----
        """

    static let rsaPKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCjREKCJsErtKsQ
        O9N7XGQuJWcaW3x+3/Szen12mwWbXPlb8O6TPepjgu6Ghb0VSt1uwIkEtxPHEM7W
        B6xGgBj5M8OVIGIcVMeDAWy8f8J1qeKEtEEVmp8wxLvmdmMIa4eoAldlvABEg9Eu
        aASvY19IMpkE5/EHZG9B6RiBcq5Z8RA/JRjNJdDfqzFQyrVvaPdEzIAXXDcSV8xh
        XlRho2BqLDh0MYVpVSRq+op2pp/W7SIBXfSwnvgqtf2ZcQf8vFIQ+M9pLD1mbNzQ
        fxiDc6HWZliqO2j2sIuu5DjrRG3OfU/4kcEcN1goz1d1yQwWvbRsFxcB5+RmvBXa
        sPkjbAejAgMBAAECggEABZqSJL+z22vA9faQ8rkdrcOk9qXTdKuF4TIWI8wQHrQk
        W2QDIdcxPP2I0/Vs8jRWvDGJp1cL8LJnahoSeQZinuXXNjSiYNR8Q4JbbtGkPewv
        K04HyRWfIABHbpxUBD1QmvCyjmaOfXzEnE5sETThnJzj+tA+cXA+GYJjxg1ab6Ns
        sQNdN152nQW8jwkZM4wpCG22LO09adprRLWXJLFzZsbVTLgylD8VXjvUWy+BsrkF
        V1FmSftWRPj1IdwHmAZ+OcvgZKt/RLmB5+JkeBtdwOviANROnld6GtklzupFwgXA
        aYsUCaQC46N/9/XZOAQVKbsfwN5FcqdO4EMCS7eFjQKBgQDS5e45cJTaJ7fSqELJ
        iuhrKrjzI8Mm+nt9jHdl3i/df5E70V4HFQsPJJdxku1V8Nezg1V1mU9JSM3de0tY
        8klgKycXWBLxwH1+iKrljP+3hg1KB7Ksi6Wm41kI+A6FyEn4WGCpTXyBkbysNFr+
        oTFcyaQssy82LfE/weqQjTN7pwKBgQDGLqPMjpF/8NPTxixDK5g+t1WJvG/6rrn0
        fUTvfOsiNQfE1GFxQs5PM5zbbpwyrYycYjTNpztqFx7k4nIeg0n5+cj6Ynu3A1AZ
        HaNjX9/Q10SccwGb+9ViX+xxnSeRoPEhrsX02AjYWsWxTzQu6Fc7I2zXbNjIK20H
        neKnAq6jpQKBgH/e2aoKELaVDmezjYsVpgYUST9il5iylt1wpZQmO29ZQX27W/9/
        Ss1Lqmc6ZpyNArvdDZvX8LLGacu4Td8ISGT+xRzqUdIym+R0iOnVq9ZiePxB3puv
        sCiYAAvoGyYSYocpTrJYQP1ul67xr5pjscJIoDpaCm4XPQcjVE2Az45RAoGBAKN1
        OHixZmSmF7DmFP/Z5xpjUFPoblvO3WVAJSl6WN2/64Z2vWATf+JnaYq7Mm3CIuWh
        QngU5LZeF4clFocANnXNheyuaefK/beZcHe4TfwMcXSwjrU/AwK+p2AWBNriacAk
        TPXjcXgxdjkGYL4HuFr4nv8Xsb13w9eya4zgc3ZZAoGAKQucLRhMIHFCd2M8EAhK
        YQ/Wb3B7kLn7rBEj8OL0bnz6dgxt45/jVklpxcj0m1z31ov5Qbz26kB3B+oTM8ba
        0h4cuaXJodEcMBlc9CNqyLqWgCqNwfO4KaDF80lO6gqSSNyyyf4NUmKHr0iyGxZB
        kEi++WMbIjH/hXVF5IdcT2s=
        -----END PRIVATE KEY-----
        """

    static let rsaEncryptedPKCS8 = """
        -----BEGIN ENCRYPTED PRIVATE KEY-----
        MIIFLTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI6SbvsvFGFbECAggA
        MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBBuHbj7yxX1VJpi1CC5A/RABIIE
        0JI1gQEnwB7rTCpOdYnL3Zek84IVTSOwIbvfNsM+XmG/9KV+zba0KsTGb9wFwXqU
        7JWdOjbJFSYN8gCO4n0vBvqJP3knaC904GbvwO/lVUoCsbuEXXzntOkm/U2AEBzg
        S4fUrdaHTL/dDlYRSEu6Eep9v9cZHGgqYNQlPmHpqkEiAkX1Avx2aQcSOUzIyuW1
        tGa/opg2psW9IFcLB1DCLbviy5PprZvw3Q6aNmPKS3/UrdYuPEANCEkH+/Y1VrAC
        w8dTruflJkN5909wSpM5tI85twk9Jj5QKMBTrgDWbvd442znnpbZbs6u1GGRnuD6
        el3LgNwJ8wVI8cvphj27HHAUwAYIYWC3/N3oAk/0d43kuTJ1aOmZjEK3X/nH+Nrj
        AaqUsDD+MZH5jkC5kgx7dgv21JHfG6h2OAlITRCaDRGXuRUowZes5yp4oihp43aH
        V4vMcTMXJ2/zuItUyH74pJKb+/ddAKx755ju9JdrggP1kaA3j2D/z7bocfWiwe45
        KLLiKIdr6SRY6oQthYNVMx+PxO1sxGZLUqk5tiYMy78QXg9I+rPxfQq2mvwPgOaJ
        RsCe3zhTCL+w0ZCgska8WRqhJMdCulggEZtpw9ITr6oYva3utuWBosCmqxFVhyO9
        yME6f128WexDAne08wUaSdw4u1YQl6HHbLORpKeldej5DBy0EOYRmVCpr9F7UGdQ
        WlE2rzGouhSDtIO/OlViTGfaONFeLf5kzylFtUgB26OEuJHqbKQApaaKVMPvb/vk
        JiYkZ2OHUAngK4EFIBc7EsZU8XXEf9zmxZ4JN7NNo2X5R207DCIaolG0SocqayBV
        jGxZ+BnCmeHzCCMTQSNbf25Fr7Y8l1TrxPOkh9lO1kTzl7b9y1FfGlXwNOjzw6g/
        o3S363cthEAJiL+7Jo3JgDDHYYaFYIrc0mwkeWyjWUMmcWD6QPD6BDAXg/wKpi2o
        yCAm28oz9BL93t/1Visy98ZeVwH/9HNMsw9BRQNMDVmI0AByMSrhRVHsWgO7TZ/k
        zQqLAdnSbc9PRl402cTheR4Fq6gcQfGZq/2s9qYLJFpWWl0YJ6yIjZWj4T/sKoq0
        GNVZ5EH0mJRh9T4ejjLsdVqS3TfO3wdqSMjacOZDoX7/6io+ppj5HOgyNHBA1yWD
        zhmhhGIOTwZVE5UHxbHnRTaNK/iRQE8Uy6fs+6kYQmMCnUte2/fzNNFzuRP6rKL1
        vyKRDUjkIp7GdIGIOp6w0FgCfFG30O65PpE/0BRw/53GbEP80+F5UmmffiH5u8C/
        8UHXiDzI3RMXrj5OmH8ehHoCE/PyK0lqtNTjrckeux/o4+jXGDS0WicNOf/b9cJ0
        aj7b//e1FqIr1wpmEpbduuOncWZk6tjcD7nG6XLMaG5blcZ6OF4eUkDBsXsbRyDW
        75MDL8gvehryT80j0Wir0I8D9Bnxj2amty7A7IRpozGV2v8k6JD8TGJUKI5dHMbW
        7BOT195m50F7Dl05HhGJU8fDLLYykj1n47Yof7Is6qwt4OqFupRM3XOuY8eKF2QK
        ep5zAYomVg0sIubp7blCip5MFBuJ94gyuyNarwfTt1J/BvrIxny3oGd7MmlB15zk
        FR2TFIJGebzkmProf7d4yW4kosEywY4sj9rNHjX4cyMV
        -----END ENCRYPTED PRIVATE KEY-----
        """

    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIDETCCAfmgAwIBAgIUN+nON845IKHp9k/PQCAf/RQXN8wwDQYJKoZIhvcNAQEL
        BQAwFzEVMBMGA1UEAwwMZml4dHVyZS50ZXN0MCAXDTI2MTIwMzE0NDQwOVoYDzIx
        MjYxMTA5MTQ0NDA5WjAXMRUwEwYDVQQDDAxmaXh0dXJlLnRlc3QwggEiMA0GCSqG
        SIb3DQEBAQUAA4IBDwAwggEKAoIBAQCjREKCJsErtKsQO9N7XGQuJWcaW3x+3/Sz
        en12mwWbXPlb8O6TPepjgu6Ghb0VSt1uwIkEtxPHEM7WB6xGgBj5M8OVIGIcVMeD
        AWy8f8J1qeKEtEEVmp8wxLvmdmMIa4eoAldlvABEg9EuaASvY19IMpkE5/EHZG9B
        6RiBcq5Z8RA/JRjNJdDfqzFQyrVvaPdEzIAXXDcSV8xhXlRho2BqLDh0MYVpVSRq
        +op2pp/W7SIBXfSwnvgqtf2ZcQf8vFIQ+M9pLD1mbNzQfxiDc6HWZliqO2j2sIuu
        5DjrRG3OfU/4kcEcN1goz1d1yQwWvbRsFxcB5+RmvBXasPkjbAejAgMBAAGjUzBR
        MB0GA1UdDgQWBBTXR6Jf5yXFMk1FsVts5BhDU2vcLDAfBgNVHSMEGDAWgBTXR6Jf
        5yXFMk1FsVts5BhDU2vcLDAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUA
        A4IBAQA8SX5nIgKHvF1399HUErEpAw74XRPxgg0LSQdQhu5AbI6krty/Aese2MmK
        iTKexpkCe4iXZVNE8n2JM+y1gzQqteymjLQU/8bYqJS2WCnUMgK6FqZVsXS2lyWf
        AQZOOqo2c6p2aNxEiuB6qmOI+SWCmrg8YM+BBhYhz/uiKQKGe620QtMogjv/H923
        EeUtspx8tvGb3DF7KYNu8FlizpNgIdGyRMGNmqipDZ+GdYBMIaVVwhtuz8UixtEL
        JnCIR2LjK8+L0tO2pSKlQBAHGPvraQmLAreQDcivqZJZxiaN8QulCBTSEUA20L3f
        56CTOzulC8hO0pH7ae2QuYTDLoWp
        -----END CERTIFICATE-----
        """

    static let ecPKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxfqqo+1m1/73AB+m
        NNTkRjXCJDcUedhyf1tGIUZ0GTmhRANCAASuITrfJg5kulDhuKGW5xEt+46fIqLT
        qoNlb0jdiRtIbFONwtLUZMTQc2lgVuBUaAnZDUtkv9+lojlzaIpifPWG
        -----END PRIVATE KEY-----
        """

    static let encryptedPassphrase = "correct-horse"
    static let messageSigned = "hello, purview"
    static let signatureBase64URL =
        "WHbikIUAyQwYaoqeewQMzapA6Q_239rMCgDSMOAx6JU0uwQTuHkLncMNPGKTD6uekdQFpWkxaZcxS5yoHMKqlmT-6SLHTRYn"
        + "5CE0zAkKLqT1DNHjLhOfCmx0nZDOE5dT2FEuYOI_D7zz-mp7kO8ae5WeaowXbDV_iC1aH28KzjdWmIR-3izkUhuyB6gYhE7b"
        + "MiEX7AsQ-WJ-Xl1dM4QJUzO2wpgClBWoPDKDXwX0xSQhvleTZbPPMyhk8ak3A1UiodfV_kKZ3IGOJfkmzmqkpMSqumK9EV3T"
        + "mgm7sGdz5TCKnhAPlbW_0QR1az7EKqH4FLkzGVtqJaoewPjNUKPFyA"
    static let sha1ThumbprintHex = "f0190e41cf2b2ba3e2b86ab3cd88cd83d6ceb69e"
    static let sha256ThumbprintHex = "950b4e9eeb932b9a2900064f382f792c6533e919718f216023a5f190d37edb01"
}
