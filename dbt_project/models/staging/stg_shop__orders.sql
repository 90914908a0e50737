{#-
    Shop orders (web and app), one row per order id: typed, `ordered_at` in UTC, the email
    normalised for guest orders' identity. An order arrives again when it changes (a refund,
    a re-export): the version updated last wins, then the one loaded last.
-#}
with

source as (

    select * from {{ source('raw', 'shop__orders') }}

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
        _batch_id as batch_id,
        cast(_source_row as bigint) as source_row
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by
                updated_at desc nulls last,
                loaded_at desc,
                batch_id desc,
                source_row desc
        ) as version_rank
    from renamed
    where order_id is not null

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
    from ranked
    where version_rank = 1

)

select * from final
