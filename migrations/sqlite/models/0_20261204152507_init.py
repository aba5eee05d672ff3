from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "channel" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "username" VARCHAR(32) UNIQUE,
    "title" VARCHAR(255) NOT NULL,
    "telegram_id" BIGINT UNIQUE,
    "cursor" BIGINT,
    "state" VARCHAR(16) NOT NULL /* ACTIVE: active\nPAUSED: paused\nUNAVAILABLE: unavailable */,
    "state_reason" VARCHAR(255) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS "chatgpt_account" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(64) NOT NULL UNIQUE,
    "api_key" TEXT NOT NULL,
    "base_url" VARCHAR(255) NOT NULL,
    "model" VARCHAR(128) NOT NULL,
    "weight" REAL NOT NULL,
    "requests_per_minute" INT NOT NULL,
    "tokens_per_minute" INT NOT NULL,
    "max_concurrency" INT NOT NULL,
    "state" VARCHAR(16) NOT NULL /* ACTIVE: active\nCOOLING: cooling\nPARKED: parked\nDISABLED: disabled */,
    "cooldown_until" TIMESTAMP,
    "state_reason" VARCHAR(255) NOT NULL,
    "consecutive_failures" INT NOT NULL,
    "requests_total" BIGINT NOT NULL,
    "failures_total" BIGINT NOT NULL,
    "invalid_outputs_total" BIGINT NOT NULL,
    "prompt_tokens_total" BIGINT NOT NULL,
    "completion_tokens_total" BIGINT NOT NULL,
    "last_used_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS "post" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "message_id" BIGINT NOT NULL,
    "text" TEXT NOT NULL,
    "link" VARCHAR(255),
    "published_at" TIMESTAMP NOT NULL,
    "edited_at" TIMESTAMP,
    "album_id" VARCHAR(64),
    "media" VARCHAR(255) NOT NULL,
    "description" TEXT NOT NULL,
    "forwarded_from" VARCHAR(255),
    "state" VARCHAR(16) NOT NULL /* PENDING: pending\nDONE: done\nFAILED: failed */,
    "attempts" INT NOT NULL,
    "last_error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "channel_id" INT NOT NULL REFERENCES "channel" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_post_channel_0a2cba" UNIQUE ("channel_id", "message_id")
);
CREATE INDEX IF NOT EXISTS "ix_post_state" ON "post" ("state", "id");
CREATE TABLE IF NOT EXISTS "reader" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "telegram_user_id" BIGINT NOT NULL UNIQUE,
    "chat_id" BIGINT NOT NULL,
    "language" VARCHAR(8) NOT NULL,
    "time_zone" VARCHAR(64) NOT NULL,
    "delivery_times" JSON NOT NULL,
    "next_delivery_at" TIMESTAMP,
    "is_active" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS "ix_reader_due" ON "reader" ("is_active", "next_delivery_at");
CREATE TABLE IF NOT EXISTS "digest" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "state" VARCHAR(16) NOT NULL /* OPEN: open\nSENDING: sending\nSENT: sent */,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "sent_at" TIMESTAMP,
    "open_for_reader" INT UNIQUE,
    "reader_id" INT NOT NULL REFERENCES "reader" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "ix_digest_reader_state" ON "digest" ("reader_id", "state");
CREATE TABLE IF NOT EXISTS "tone" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "code" VARCHAR(32) NOT NULL UNIQUE,
    "title_ru" VARCHAR(64) NOT NULL,
    "title_en" VARCHAR(64) NOT NULL,
    "instruction" TEXT NOT NULL,
    "is_builtin" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "created_by_id" INT REFERENCES "reader" ("id") ON DELETE SET NULL
);
CREATE TABLE IF NOT EXISTS "subscription" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "is_active" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "channel_id" INT NOT NULL REFERENCES "channel" ("id") ON DELETE CASCADE,
    "reader_id" INT NOT NULL REFERENCES "reader" ("id") ON DELETE CASCADE,
    "tone_id" INT NOT NULL REFERENCES "tone" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_subscriptio_reader__da1900" UNIQUE ("reader_id", "channel_id")
);
CREATE INDEX IF NOT EXISTS "ix_sub_channel" ON "subscription" ("channel_id", "is_active", "tone_id");
CREATE TABLE IF NOT EXISTS "summary" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "text" TEXT NOT NULL,
    "is_original" INT NOT NULL,
    "fallback_reason" VARCHAR(255) NOT NULL,
    "prompt_tokens" INT NOT NULL,
    "completion_tokens" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "account_id" INT REFERENCES "chatgpt_account" ("id") ON DELETE SET NULL,
    "post_id" INT NOT NULL REFERENCES "post" ("id") ON DELETE CASCADE,
    "tone_id" INT NOT NULL REFERENCES "tone" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_summary_post_id_0593bd" UNIQUE ("post_id", "tone_id")
);
CREATE TABLE IF NOT EXISTS "digest_item" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "digest_id" INT NOT NULL REFERENCES "digest" ("id") ON DELETE CASCADE,
    "summary_id" INT NOT NULL REFERENCES "summary" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_digest_item_digest__48bc48" UNIQUE ("digest_id", "summary_id")
);
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXW1T2zoW/iuZfOqdoRQCBZbZ2ZkAaW+2NGEgdO/c9o5HsUXQYMu+ttzCdvnvKzl+kW"
    "05sY0jYld8IpKOLT+Sj855zpH8s2/ZBjS93fN7gDE0+6e9n30MLEj/yVbt9PrAcZIKVkDA"
    "3Aza6lyjuUdcoBNafAdMD9IiA3q6ixyCbExLsW+arNDWaUOEF0mRj9HfPtSIvYDkHrq04u"
    "tftBhhAz5CL/rpPGh3CJpGqrPIYPcOyjXy5ARlY0w+BA3Z3eaabpu+hZPGzhO5t3HcGmHC"
    "ShcQQxcQyC5PXJ91n/UufNDoiZY9TZosu8jJGPAO+CbhHneuJWV9TZtMZ9rNaKZp/QoA6T"
    "Zm4NKuesHTL1gX3g72D48PTw6ODk9ok6Cbccnx8/LWCTBLwQCeyaz/HNQDApYtAowTUH0P"
    "usH/OWjppHDF2PIyGYRp17MIR3hyEIcAbgnCFnjUTIgX5J7+PBisgPPL8Pr89+H1m4PBb+"
    "yGNn0Hlu/GJKwZBFUM8QRhgohZCd5YoBa2uekbFSToJu9sDGVfCriD9+9LoEtbFcIb1GXw"
    "hSZcuMDSRPrhDC0KVURGcL2u2PqZvNQV/xgMDg6OB3sHRyfvD4+P35/sxUojX7VKe5yNPz"
    "IFkhqKSKMk+Ou+69luNegTmUZQLzPFO4e7RyhAYr0ywr4VAD+m/QRYh7kBiIUl6hhqMKDv"
    "sKKm6Q/PZ+Mvo9PeUvobvhre3owuTnsOoMuQ8Q3fToZfhuPL4dklbeRj8B2gZTdr6Kf9ox"
    "Lqaf+oUDuxKsEgaS4EHn2aCmtAVk4tBWWWAp0CRtHQAMljfUv0C1pJkAULdFJKOAO4EYru"
    "Rv9sCv5Nqin6gMYUm0+hBl2B/2z8eXQzG36+YrezPO9v5jb0L4azEasZBKVPmdI32fcivk"
    "jvP+PZ7z32s/fndDIK4LU9snCDOybtZn/2WZ+AT2wN2z80YHAraFQaoZYaeN8x6g98WlgN"
    "/LYMfIQRN/JB75mDePfAeTOsYA70hx/ANbRUTTJD2H09gZESin34dA1NEACbnwOhl3xFL9"
    "HC0X+O5ntUmswCbp3y5/HFXwjTDXepLsHFZpk9sIvmXb7KGljZEoDBIngkdm92p4SAIR+v"
    "ZkNdt/3gjiKKhm+xs4apIQuHaIBrrBgbyd7AxhibqmzNi5iaLYM2ZUIeHZawII8OCw1IVp"
    "W2H4GDtAf4lEd3Bh8LZi0nIs9G37z6E9oGoz9mKbMggvLN5+Efv6VMg8vp5GPUnIP+/HJ6"
    "loF8Djyo+a5ZZUbzMhIdo3tCHO/03Ts65Lu2AzFAu7ptvfu+32KPKVg9qmAfC0gEnq5lbw"
    "/ttxbCSA7U+4OTMkTA4KSYCWB1aah/QLS4F/gnH0wbFCiXRCSD9h2T2RTe+7t78pXLxfT2"
    "7HLUu7oenY9vxtNJ2tMIKlkRLUAkgOB6NLzMIOxC+pDUzNcc6Gp0tvgifqzQ/iiQrkVQ1s"
    "L9/d6mcG/GJOEod/sB4powC2XlgTzYY38twZkpJXoL3XddiHWBXVKIskBSHsYnLYH3F2XQ"
    "z6fTy/Hk42lPt22T4s049etPS07dfWCc+sX4hvHptMRAHuuxsR1sOuuwYf/AGvVqkcBsWc"
    "/x5i7QAN23ZdGo9rJ7eV5XhU+khk/oHaHuMy2h3QFk+mwky685ReLyFp62rOuxqUlsAgR6"
    "bFXoPC/bGXwlB9CjOVpnFPKyahTqjQLC34GJDM32iePXeyUKL6HGpN6YOK5tOUQLXbUaI1"
    "JwATUeNVOsKJomZH19wZisuIgal3rjYgKPaCwNqV7iQVZc+SLb7Iuo5KIO5pio5KJfdOAb"
    "TS7yfMsCLhJ5y9UyZ9hlnlqr5uXmzFygBfWD+4JcmbBmZ1WOjJG02WRqzM9+8jTBmwLdcL"
    "vBkj9mzeGjQ+esF2RehVeInaNHbdlRLZSNWedo6vSDC9AHCH48q1Qcmak4rQsgsLSFquGD"
    "6dVoctpjkt/wzWhyEYQOPIiNIHRAS2bBT7IlIQJlpXVvsVZW2i868EVWWipGRHVPvVHnJJ"
    "XrvT0jnH+32eKj3dluaAVVsGQEkp3Z59lgOIqzS0tnS3Ey8vjDLUc15z1mQc4j/MF2IVrg"
    "T/ApZy6KvcTr+EItA7jIS6TFLvgR+yzpqUWfnz41XOb8nQ9vzocXo6Wbs84pRwRaL3TIl4"
    "7kmF6oQ3BLcMoDxAod8wjPdc65hqKGjXroXznf3wsZl7/UjpZXdKOVz9ZB072Mzxa951Ve"
    "qpSMMjxEaa1LpVYN1rSQwnW9QZesIi806BK6umUAlzXoUq+s2KATzN8GkC0fUGkrtOnXtq"
    "qxvElLMNgtL7ABo130xdafY28iMPOVP8DOgp5Hu81gy5p+qYhNzNGzhjvrQjWs4ypCs1Wm"
    "JTfQOXBXJUul5bq0HEpOkSJ06uehL95PHbXvQMa+7K3UJsIP4mBkQfpZ2L6RIxxfe3Jvfn"
    "eE489N5N3X9VOz4h30VFvimZYKOUAD1aYkUrIqsrTNwwzMuS8+ObRYb/Iy3dOdzZ+qYtH3"
    "AVQBOBbogBEgYWHie1bB0sqIdQBr2QbXne0yP5mq+jvXtqrM8Lxk9xTJRuZ66zLunGWiXM"
    "Up37+KEu2cKNHugq6Apz3DxvAb/jAcB7vz2S7EbdmbDwiBliM6Y7HQyeZFOrMFqTEaP9gd"
    "BF1XdLZ2sVZPS3VBq8jW6ioa+YtGI1UGaQcHvkwGaRgYqBYwTQt1iSHeVMCUi7+8MK7Hfa"
    "+oZRCXjeulZ1f9JDjpO9PaAvhGs+DCFE1B9DNJ3iyOfyaZovK2piFPSw4Xw9S6ZBOO/nSf"
    "2Iq2PvQZ5mwavgp9bkvoM/68EftcV/2PI3HSzSxy2wC67PM77oE4y23leR2JUJesC+lHdO"
    "CFT7V0pcAoJyORKnJ9OSR0mbONi082zp1rzPwZ7b82rviNO05IIsa3s3M5IDcfRokXZIad"
    "wJ779810UsT0ZyWz/inSSe9/PRNtLg2x/887H+sM097cRyZB2Ntl9/vXKwQDGFKraaMsQ7"
    "ST9jnZBbK0Uc5oyg3QWg5BdAkVPt4e4iBPGaXM5szSbtsmBLjAhuXlMkM8p4KbegsjU0vu"
    "sJ5Np5epET0bZ3nY289no+s3+8FQJme8CywpRc52j6NT5OwvOvBF5GyORCxDdS13GTSy47"
    "OFM6CQ51JfeasNl+57xLY0Qt2UF6I1Cz2dVlpqcrnT1MQSMKjZiVfMo3rZlg3vJ0l42iiy"
    "sXIvSZrST1mAbIZppbaY0GfSuDiKIlq3gGhVToByArZIa7fUFizjBKhAvToAqD2oRqt6eU"
    "w5CYWoOlJJ6pFKAj3bALIqUyeLLRFGyioDW9KjbCuqnCZMQXpNTYjr8fnstU41iBKhhI5p"
    "nCO1yidNGjXsjkbHJgQTTB1o9bqpN9u+6b1D+frUjbZdtEBY+EGcNQ44LynRBY9LWuuD0y"
    "cwmUqt8XFGgWgHNh/KOIGA/6pWBbWdk1ObrdZ+YasKwSCSVRAr1q4S2t1l7YCu2z6ueMxj"
    "WqiRM7tfe4Qbfp+C08YqYcpJKHpJEXbyCbvIRX0h9xEdIdgycMtyH9xrqugkWXSSYMFqhv"
    "4kH69mw+SC7VqzyuKbXq1TENMu9Ca3l5fl9ityJ7+rs/slZ94EOkBAbEa6oZjVjJTQRvcr"
    "KgpTJoWp01GuQupE7Zthcl4X2hSTczAoQeQcDAp5HFaV3TBFTKgtd3uV3y+VyHSCJd70bq"
    "klYLASMcnLKJBLgIzY3Xy96slzGbFOQP0KUY9wH131oAcnqGIeKu9QMZg76/IOw7GbV/yo"
    "Sk5O8ZjrTwmKMWvA/y6d2LVlGJdOPspOsBe43mpzUMW9VOpkJfkcxRC6SL/vC1iKsGZnFU"
    "8BkjaKqWjTerGzgqn4Dl1P6IAUO3qcSCecDwm5J+ylqoBw2LyD6O7v7ZVAl7YqPjuZ1WXT"
    "TzCBoohD8aEunIj801xex5Fu7NyWCvvLm1/Mnv8PIEr9nA=="
)
