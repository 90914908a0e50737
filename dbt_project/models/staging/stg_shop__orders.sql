{#-
    Shop orders (web and app), one row per order id: typed, `ordered_at` in UTC, the email
    normalised for guest orders' identity. An order arrives again when it changes (a refund,
    a re-export): the version updated last wins, then the one loaded last.
-#}
with

-- Read twice: not materialized, as in stg_web__events.
source as not materialized (

    select * from {{ source('raw', 'shop__orders') }}

),

latest_versions as (

    -- Ranked on these few columns, then only the kept rows are parsed: ranking parsed rows
    -- sorted every column of ~6M orders at 1M customers.
    select
        _batch_id,
        _source_row
    from (
        select
            _batch_id,
            _source_row,
            row_number() over (
                partition by {{ clean_text('order_id') }}
                order by
                    {{ utc_timestamp('updated_at') }} desc nulls last,
                    _loaded_at desc,
                    _batch_id desc,
                    _source_row desc
            ) as version_rank
        from source
        where {{ clean_text('order_id') }} is not null
    ) as versions
    where version_rank = 1

),

latest as (

    select source.*
    from source
    inner join latest_versions
        on
            source._batch_id = latest_versions._batch_id
            and source._source_row = latest_versions._source_row

),

renamed as (

    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ normalize_email('email') }} as email,
        {{ utc_timestamp('ordered_at') }} as ordered_at,
        lower({{ clean_text('status') }}) as order_status,
        {{ safe_decimal('amount') }} as amount,
        coalesce({{ safe_decimal('discount') }}, 0) as discount,
        upper({{ clean_text('currency') }}) as currency,
        lower({{ clean_text('channel') }}) as channel,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id
    from latest

),

final as (

    select
        order_id,
        customer_id,
        email,
        ordered_at,
        order_status,
        amount,
        discount,
        currency,
        channel,
        updated_at,
        loaded_at,
        batch_id
    from renamed

)

select * from final
