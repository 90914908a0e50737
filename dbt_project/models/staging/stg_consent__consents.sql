{#-
    Consent changes per person and purpose, the whole history (a person's current consent is
    their latest change). A change delivered twice (the same person, purpose, status and
    time, after normalisation) is kept once; `consent_change_id` is a hash of those columns.
-#}
with

source as (

    select * from {{ source('raw', 'consent__consents') }}

),

renamed as (

    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ normalize_email('email') }} as email,
        lower({{ clean_text('purpose') }}) as purpose,
        lower({{ clean_text('status') }}) as consent_status,
        {{ utc_timestamp('recorded_at') }} as recorded_at,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id,
        cast(_source_row as bigint) as source_row
    from source

),

keyed as (

    select
        {{ hash_key(['customer_id', 'email', 'purpose', 'consent_status', 'recorded_at']) }}
            as consent_change_id,
        *
    from renamed

),

ranked as (

    select
        *,
        row_number() over (
            partition by consent_change_id
            order by loaded_at asc, batch_id asc, source_row asc
        ) as delivery_rank
    from keyed

),

final as (

    select
        consent_change_id,
        customer_id,
        email,
        purpose,
        consent_status,
        recorded_at,
        loaded_at,
        batch_id
    from ranked
    where delivery_rank = 1

)

select * from final
