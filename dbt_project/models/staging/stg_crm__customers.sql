{#-
    CRM records, one row per customer id: typed, identifiers normalised the way identity
    resolution matches them (email lower-cased, phone in E.164, loyalty id trimmed).
    A record is delivered again in every export that contains it: the version the CRM
    updated last wins, then the one loaded last (exact duplicate rows collapse).
-#}
with

-- Read twice: not materialized, as in stg_web__events.
source as not materialized (

    select * from {{ source('raw', 'crm__customers') }}

),

renamed as (

    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone', 'country') }} as phone,
        {{ parse_date('birth_date') }} as birth_date,
        lower({{ clean_text('gender') }}) as gender,
        {{ clean_text('city') }} as city,
        upper({{ clean_text('country') }}) as country_code,
        {{ parse_date('signup_date') }} as signup_date,
        {{ normalize_loyalty_id('loyalty_id') }} as loyalty_id,
        lower({{ clean_text('preferred_channel') }}) as preferred_channel,
        lower({{ clean_text('interests') }}) as interests,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id,
        cast(_source_row as bigint) as source_row
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by
                updated_at desc nulls last,
                loaded_at desc,
                batch_id desc,
                source_row desc
        ) as version_rank
    from renamed
    where customer_id is not null

),

final as (

    select
        customer_id,
        first_name,
        last_name,
        email,
        phone,
        birth_date,
        gender,
        city,
        country_code,
        signup_date,
        loyalty_id,
        preferred_channel,
        interests,
        updated_at,
        loaded_at,
        batch_id
    from ranked
    where version_rank = 1

)

select * from final
