with

source as (

    select * from {{ source('raw', 'shop__orders') }}

),

typed as (

    select
        order_id,
        customer_id,
        try_cast(ordered_at as timestamptz) at time zone 'UTC' as ordered_at,
        lower(trim(status)) as order_status,
        try_cast(amount as decimal(18, 2)) as amount,
        upper(trim(currency)) as currency,
        lower(trim(channel)) as channel,
        _loaded_at as loaded_at,
        _batch_id as batch_id
    from source

),

deduplicated as (

    -- The shop export may repeat an order across files: the latest load wins.
    select *
    from typed
    qualify row_number() over (partition by order_id order by loaded_at desc) = 1

),

final as (

    select * from deduplicated

)

select * from final
