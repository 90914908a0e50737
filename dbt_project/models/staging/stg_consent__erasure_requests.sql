{#-
    Right-to-be-forgotten requests, one row per request id (the version loaded last). A
    request names a customer id, an email or both.
-#}
with

source as (

    select * from {{ source('raw', 'consent__erasure_requests') }}

),

renamed as (

    select
        {{ clean_text('request_id') }} as request_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ normalize_email('email') }} as email,
        {{ utc_timestamp('requested_at') }} as requested_at,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id,
        cast(_source_row as bigint) as source_row
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by request_id
            order by loaded_at desc, batch_id desc, source_row desc
        ) as version_rank
    from renamed
    where request_id is not null

),

final as (

    select
        request_id,
        customer_id,
        email,
        requested_at,
        loaded_at,
        batch_id
    from ranked
    where version_rank = 1

)

select * from final
